# lbbench: `make bench` sweeps every available strategy; `make test` is what CI runs.
CONFIG ?= configs/default.toml
CARGO ?= cargo
LBBENCH := target/release/lbbench

.PHONY: all build deps bench bench-loadgen test lint clean
all: build

build:
	$(CARGO) build --release --workspace

# System packages the strategies' manifests ask for ([requires] packages), installed when root.
deps: build
	@pkgs="$$($(LBBENCH) packages)"; \
	if [ -z "$$pkgs" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing $$pkgs"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkgs; \
	else \
		echo "not root: not installing $$pkgs; the strategies that need them will be skipped"; \
	fi

bench: deps
	$(LBBENCH) run --config $(CONFIG)

# The load generator against wrk on the same nginx (installs nginx and wrk when root).
bench-loadgen: build
	scripts/bench-loadgen

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: lint
	$(CARGO) test --workspace

clean:
	$(CARGO) clean
	rm -f results/*.json results/*.csv results/*.svg results/*.md

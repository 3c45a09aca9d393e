# lbbench: `make bench` sweeps every available strategy; `make test` is what CI runs.
CONFIG ?= configs/default.toml
CARGO ?= cargo
LBBENCH := target/release/lbbench

.PHONY: all build deps node-deps bench bench-loadgen test test-loaded lint fuzz clean
all: build

build:
	$(CARGO) build --release --workspace

# Node packages some strategies pin (servers/<name>/package-lock.json), each installed into its
# strategy's own directory (servers/<name>/node_modules), never globally; again only when the
# lockfile changes.
NODE_LOCKS := $(wildcard servers/*/package-lock.json)
NODE_INSTALLS := $(NODE_LOCKS:package-lock.json=node_modules/.package-lock.json)

# System packages the strategies' manifests ask for ([requires] packages, and npm for the Node
# packages), installed when root; then the Node packages.
deps: build
	@pkgs="$$($(LBBENCH) packages)"; \
	if [ -n "$(NODE_LOCKS)" ] && ! command -v npm >/dev/null; then pkgs="$${pkgs:+$$pkgs }npm"; fi; \
	if [ -z "$$pkgs" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing $$pkgs"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$pkgs; \
	else \
		echo "not root: not installing $$pkgs; the strategies that need them will be skipped"; \
	fi
	@$(MAKE) --no-print-directory node-deps || \
		echo "the Node packages did not install; the strategies that need them will be skipped"

# Needs no root: what CI runs before the tests.
node-deps: $(NODE_INSTALLS)

servers/%/node_modules/.package-lock.json: servers/%/package-lock.json
	@if command -v npm >/dev/null; then \
		echo "installing servers/$*'s Node packages (npm ci)"; \
		npm ci --prefix servers/$* --no-audit --no-fund --loglevel=error; \
	else \
		echo "npm not found: not installing servers/$*'s Node packages; the strategies that need them will be skipped"; \
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

# The whole suite again while one spinning process per CPU (normal priority) takes the machine:
# no test may depend on how fast or quiet the machine is. Built first, without the spinners;
# they stop with the suite (scripts/cpu-hog).
test-loaded:
	$(CARGO) test --workspace --no-run --quiet
	scripts/cpu-hog $(CARGO) test --workspace

# Fuzzes both HTTP parsers and the results-file reader (fuzz/): the worker's request framing,
# the load generator's response parser and what `lbbench plot` and `compare` read, FUZZ_SECONDS
# each, stopping at the first crash or hang (an input that runs over 10 s), whose input
# libFuzzer leaves in fuzz/artifacts/<target>/. Not part of `make test` or CI: the property and
# unit tests there cover them in seconds. cargo-fuzz works on stable Rust with
# `--sanitizer none`: its coverage instrumentation uses only stable codegen options, while
# AddressSanitizer (its default) needs nightly's -Zsanitizer; the parsers are safe Rust, so a
# panic, overflow check or debug assertion (all on in these builds) is what a crash is.
FUZZ_SECONDS ?= 60
CARGO_FUZZ_VERSION ?= 0.13.2
fuzz-run = cd fuzz && $(CARGO) fuzz run --sanitizer none $(1) -- -max_total_time=$(FUZZ_SECONDS) \
	-timeout=10 $(2) $(FUZZ_ARGS)

# Requests up to 20 kB: past MAX_HEAD (8 KiB) and the worker's first 4 KiB read buffer. Results
# files up to 64 kB (a seed is a real one), in at most 256 MB: a file that makes the reader
# allocate more than it holds fails the run.
fuzz:
	@$(CARGO) fuzz --version >/dev/null 2>&1 || $(CARGO) install --locked cargo-fuzz@$(CARGO_FUZZ_VERSION)
	$(call fuzz-run,request_framing,-max_len=20000 -dict=http.dict)
	$(call fuzz-run,response_parsing,-max_len=4096 -dict=http.dict)
	$(call fuzz-run,results_reading,-max_len=65536 -rss_limit_mb=256 -malloc_limit_mb=128 -dict=json.dict)

clean:
	$(CARGO) clean
	rm -rf fuzz/target
	rm -f results/*.json results/*.csv results/*.svg results/*.md results/*.html

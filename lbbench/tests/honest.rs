//! Honest statistics end to end: cells survive non-2xx answers, throughput counts 2xx only, and
//! the accounting identity holds in a real results file.

mod common;

use common::{lbbench, servers, text, workspace};
use std::path::Path;
use std::process::Command;
use testkit::{trial, Needs};

fn main() {
    let python = Needs::programs(&["python3"]);
    testkit::run_trials(vec![
        trial(
            "non_2xx_answers_keep_the_cell_and_count_apart",
            python,
            non_2xx_answers_keep_the_cell_and_count_apart,
        ),
        trial(
            "the_load_waits_until_every_worker_serves",
            python,
            the_load_waits_until_every_worker_serves,
        ),
        trial(
            "every_request_is_accounted_and_plot_reproduces_the_percentiles",
            Needs::NOTHING,
            every_request_is_accounted_and_plot_reproduces_the_percentiles,
        ),
    ]);
}

/// `sent = ok + non-2xx + errors + in flight`, and the histogram holds what the report says it does.
fn assert_accounted(what: &str, l: &serde_json::Value) {
    let n = |k: &str| l[k].as_u64().unwrap_or_else(|| panic!("{what}: no {k}: {l}"));
    let non_2xx: u64 = l["non_2xx"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(
        n("sent"),
        n("ok") + non_2xx + n("errors") + n("in_flight_at_end"),
        "{what}: {l}"
    );
    assert_eq!(n("requests"), n("ok") + non_2xx, "{what}: {l}");
    assert!(
        l["histograms"]["latency"].as_str().is_some_and(|h| !h.is_empty()),
        "{what}: a stored histogram"
    );
}

/// A real sweep (closed loop, an open-loop step, both workloads), then `lbbench plot` from its file.
fn every_request_is_accounted_and_plot_reproduces_the_percentiles() {
    let bin = common::debug_bin("reuseport");
    let root = servers(&[("victim", common::copy_of_reuseport("victim"))]);
    let profile = "[sweep]\ncores = [1]\nrepeats = 2\n[load]\nconnections = 8\nduration = \"400ms\"\n\
                   warmup = \"100ms\"\nopen_loop = [0.5]\nopen_loop_duration = \"300ms\"\n";
    std::fs::write(root.path().join("p.toml"), profile).unwrap();
    let out = lbbench(root.path(), &bin, &["run", "-c", "p.toml", "--out", "res"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = results(root.path());
    let cells = r["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4, "2 workloads × 2 repeats: {r}");
    for c in cells {
        assert_accounted("cell", c);
        for step in c["open_loop"].as_array().into_iter().flatten() {
            assert_accounted("open-loop step", step);
        }
    }
    let plot = Command::new(env!("CARGO_BIN_EXE_lbbench"))
        .args(["plot", "res/results.json", "--out", "replot"])
        .current_dir(root.path())
        .output()
        .unwrap();
    assert!(plot.status.success(), "{}", text(&plot.stderr));
    for file in ["results.csv", "summary.md"] {
        let a = std::fs::read_to_string(root.path().join("res").join(file)).unwrap();
        let b = std::fs::read_to_string(root.path().join("replot").join(file)).unwrap();
        assert_eq!(a, b, "{file}: percentiles recomputed from the stored histograms differ");
    }
}

/// A manifest starting one of the Python test strategies in lbbench/tests/strategies.
fn python_strategy(name: &str, script: &str) -> String {
    let script = workspace().join("lbbench/tests/strategies").join(script);
    format!(
        "name = \"{name}\"\ndescription = \"a test strategy\"\nstart = \"python3 {} --port {{port}} --workers {{workers}}\"\n",
        script.display()
    )
}

/// Worker 1 starts 1.5 s after worker 0; 32 keep-alive connections must still reach both.
fn the_load_waits_until_every_worker_serves() {
    let root = servers(&[("late", python_strategy("late", "late.py"))]);
    let profile = "[sweep]\ncores = [1]\nworkers_per_core = 2\nworkloads = [\"keepalive\"]\nrepeats = 1\n\
                   [load]\nconnections = 32\nduration = \"300ms\"\nwarmup = \"100ms\"\n";
    std::fs::write(root.path().join("p.toml"), profile).unwrap();
    let out = lbbench(
        root.path(),
        Path::new("/nonexistent"),
        &["run", "-c", "p.toml", "--out", "res"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = results(root.path());
    let cell = &r["cells"][0];
    assert_eq!(cell["readiness"], "all-workers", "{cell}");
    let workers: Vec<&String> = cell["per_worker"].as_object().unwrap().keys().collect();
    assert_eq!(workers, ["0", "1"], "keep-alive connections on both workers: {cell}");
}

fn results(root: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(root.join("res/results.json")).unwrap()).unwrap()
}

/// A drop-in strategy whose worker answers 503 to every other request.
fn non_2xx_answers_keep_the_cell_and_count_apart() {
    let root = servers(&[("alternating", python_strategy("alternating", "alternating.py"))]);
    let out = lbbench(
        root.path(),
        Path::new("/nonexistent"),
        &["run", "-c", "tiny.toml", "--out", "res"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r = results(root.path());
    assert_eq!(r["failures"].as_array().unwrap().len(), 0, "{}", r["failures"]);
    for c in r["cells"].as_array().unwrap() {
        let (ok, bad) = (c["ok"].as_u64().unwrap(), c["non_2xx"]["503"].as_u64().unwrap());
        assert!(ok > 0 && bad > 0, "{c}");
        assert!(
            ok.abs_diff(bad) <= c["connections"].as_u64().unwrap() + 2,
            "half and half: {c}"
        );
        let rps = c["rps"].as_f64().unwrap();
        let duration = c["duration_s"].as_f64().unwrap();
        assert!((rps - ok as f64 / duration).abs() < 1e-6, "req/s counts 2xx only: {c}");
    }
    assert!(
        text(&out.stderr).contains("non-2xx"),
        "the terminal flags the cell: {}",
        text(&out.stderr)
    );
}

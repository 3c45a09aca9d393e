//! Honest statistics end to end: cells survive non-2xx answers, throughput counts 2xx only, and
//! the accounting identity holds in a real results file.

mod common;

use common::{lbbench, servers, text, workspace};
use std::path::Path;
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
    ]);
}

/// A manifest starting one of the Python test strategies in harness/tests/strategies.
fn python_strategy(name: &str, script: &str) -> String {
    let script = workspace().join("harness/tests/strategies").join(script);
    format!(
        "name = \"{name}\"\ndescription = \"a test strategy\"\nstart = \"python3 {} --port {{port}} --workers {{workers}}\"\n",
        script.display()
    )
}

/// Worker 1 starts 1.5 s after worker 0; 32 keep-alive connections must still reach both.
fn the_load_waits_until_every_worker_serves() {
    let root = servers(&[("late", python_strategy("late", "late.py"))]);
    let profile = "[sweep]\ncores = [1]\nworkers_per_core = 2\nworkloads = [\"keepalive\"]\n\
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

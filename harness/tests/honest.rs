//! Honest statistics end to end: cells survive non-2xx answers, throughput counts 2xx only, and
//! the accounting identity holds in a real results file.

mod common;

use common::{lbbench, servers, text, workspace};
use std::path::Path;
use testkit::{trial, Needs};

fn main() {
    testkit::run_trials(vec![trial(
        "non_2xx_answers_keep_the_cell_and_count_apart",
        Needs::programs(&["python3"]),
        non_2xx_answers_keep_the_cell_and_count_apart,
    )]);
}

fn results(root: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(root.join("res/results.json")).unwrap()).unwrap()
}

/// A drop-in strategy whose worker answers 503 to every other request.
fn non_2xx_answers_keep_the_cell_and_count_apart() {
    let script = workspace().join("harness/tests/strategies/alternating.py");
    let manifest = format!(
        "name = \"alternating\"\ndescription = \"503 every other request\"\nstart = \"python3 {} --port {{port}}\"\n",
        script.display()
    );
    let root = servers(&[("alternating", manifest)]);
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

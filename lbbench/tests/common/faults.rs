//! What the fault tests share: a profile of 2 workers on 1 core with 100 ms intervals, and
//! `lbbench run` of one strategy with it, every cell's fault report at hand.

use super::{run_strategy, workspace_lbbench};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use testkit::output_within;

/// 2 workers on 1 core, a 3 s window with the fault 1 s in, 100 ms intervals.
pub const PROFILE: &str = r#"
[sweep]
cores = [1]
workers_per_core = 2
workloads = ["keepalive"]
repeats = 1
[load]
connections = 16
duration = "3s"
warmup = "300ms"
request_timeout = "1s"
interval = "100ms"
[server]
ready_timeout = "15s"
stop_grace = "2s"
"#;

/// The strategies `lbbench list` says reload (the others are skipped by a reload profile).
pub fn reloadable(bin: &Path) -> Vec<String> {
    let out = workspace_lbbench(bin, &super::workspace(), &["list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut names = Vec::new();
    let mut current = None;
    for line in text.lines() {
        if !line.starts_with(' ') {
            current = line.split_whitespace().next().map(String::from);
        } else if line.contains("reloads ") {
            names.extend(current.take());
        }
    }
    names
}

/// Runs the cells of `strategy` with `profile`; returns each cell and its fault report.
pub fn run_cells(bin: &Path, strategy: &str, profile: &str) -> Vec<(Value, Value)> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), profile).unwrap();
    let mut cmd = run_strategy(bin, dir.path(), strategy);
    let out = output_within(&mut cmd, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let results: Value = serde_json::from_str(&std::fs::read_to_string(results_path(dir.path())).unwrap()).unwrap();
    assert_eq!(results["failures"], serde_json::json!([]), "{stderr}");
    let cells = results["cells"].as_array().unwrap().clone();
    assert!(!cells.is_empty(), "{stderr}");
    cells
        .into_iter()
        .map(|c| {
            let f = c["fault"].clone();
            assert!(f.is_object(), "no fault report: {c}");
            (c, f)
        })
        .collect()
}

pub fn run_cell(bin: &Path, strategy: &str, profile: &str) -> (Value, Value) {
    run_cells(bin, strategy, profile).remove(0)
}

pub fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

pub fn results_path(dir: &Path) -> PathBuf {
    dir.join("res/results.json")
}

/// Worker `w`'s responses per interval of a cell's timeline.
pub fn answers(t: &Value, w: &str) -> Vec<u64> {
    t["per_worker"][w]
        .as_array()
        .map_or(Vec::new(), |a| a.iter().map(|v| v.as_u64().unwrap()).collect())
}

//! Workloads through `lbbench run`: service time asked of the workers, the capacity search, and
//! config errors caught before any cell runs.

mod common;

use common::{copy_of_reuseport, debug_bin, lbbench, servers, text};
use testkit::{trial, Needs};

fn main() {
    testkit::run_trials(vec![
        trial("a_known_capacity_is_found", Needs::NOTHING, a_known_capacity_is_found),
        trial(
            "a_malformed_work_spec_stops_the_run_before_any_cell",
            Needs::NOTHING,
            a_malformed_work_spec_stops_the_run_before_any_cell,
        ),
    ]);
}

/// One worker that blocks 1 ms per request serves just under 1,000 req/s: the search must find
/// a capacity under 1,000 and not far below it.
fn a_known_capacity_is_found() {
    let bin = debug_bin("reuseport");
    let root = servers(&[("one", copy_of_reuseport("one"))]);
    let profile = r#"
[sweep]
cores = [1]
workloads = ["slow"]
[workloads.slow]
block = "1ms"
connections = 16
[load]
duration = "500ms"
warmup = "100ms"
[slo]
p99 = "20ms"
step = "1s"
warmup = "300ms"
max_steps = 8
"#;
    std::fs::write(root.path().join("p.toml"), profile).unwrap();
    let out = lbbench(root.path(), &bin, &["run", "-c", "p.toml", "--out", "res"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.path().join("res/results.json")).unwrap()).unwrap();
    let cell = &r["cells"][0];
    let closed = cell["rps"].as_f64().unwrap();
    assert!(closed < 1_000.0 && closed > 700.0, "closed loop, 1 ms each: {closed}");
    let capacity = &cell["capacity"];
    let rps = capacity["rps"].as_f64().unwrap_or(0.0);
    assert!((750.0..1_000.0).contains(&rps), "capacity {rps}: {capacity}");
    assert!(capacity["probes"].as_array().unwrap().len() <= 8, "{capacity}");
    let svg = root.path().join("res/capacity-slow.svg");
    assert!(std::fs::read_to_string(svg)
        .unwrap()
        .contains("Capacity under the latency objective"));
}

fn a_malformed_work_spec_stops_the_run_before_any_cell() {
    let bin = debug_bin("reuseport");
    let root = servers(&[("one", copy_of_reuseport("one"))]);
    let profile = "[sweep]\nworkloads = [\"slow\"]\n[workloads.slow]\ncpu = \"lots\"\n";
    std::fs::write(root.path().join("p.toml"), profile).unwrap();
    let out = lbbench(root.path(), &bin, &["run", "-c", "p.toml", "--out", "res"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("workloads.slow.cpu") && err.contains("exp:<mean>"),
        "{err}"
    );
    assert!(!root.path().join("res").exists(), "no cell ran");
}

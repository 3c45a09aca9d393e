//! Workloads through `lbbench run`: service time asked of the workers, the capacity search, and
//! config errors caught before any cell runs.

mod common;

use common::{copy_of_reuseport, debug_bin, lbbench, servers, text};
use testkit::{trial, Needs};

fn main() {
    // The capacity search pins its cells; the other trial fails before any.
    let mut args = libtest_mimic::Arguments::from_args();
    args.test_threads = Some(1);
    let trials = vec![
        trial("a_known_capacity_is_found", Needs::NOTHING, a_known_capacity_is_found),
        trial(
            "a_malformed_work_spec_stops_the_run_before_any_cell",
            Needs::NOTHING,
            a_malformed_work_spec_stops_the_run_before_any_cell,
        ),
    ];
    libtest_mimic::run(&args, trials).exit()
}

/// One worker that blocks 1 ms per request serves at most 1,000 req/s, however fast the machine:
/// the search must stay below that bound and keep its own rules (how close to the bound it gets
/// is this machine's speed, which `make bench CONFIG=configs/service-time.toml` measures).
fn a_known_capacity_is_found() {
    let bin = debug_bin("reuseport");
    let root = servers(&[("one", copy_of_reuseport("one"))]);
    let profile = r#"
[sweep]
cores = [1]
workloads = ["slow"]
repeats = 1
[workloads.slow]
block = "1ms"
connections = 16
[load]
duration = "500ms"
warmup = "100ms"
common_rate = 0
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
    assert!(closed <= 1_000.0 && closed > 0.0, "closed loop, 1 ms each: {closed}");
    let capacity = &cell["capacity"];
    let probes = capacity["probes"].as_array().unwrap();
    assert!(!probes.is_empty() && probes.len() <= 8, "{capacity}");
    let met = |p: &&serde_json::Value| p["ok"] == true;
    for p in probes {
        // A probe meets the target only when its rate was reached and its p99 and failures
        // were within bounds; a rate above the worker's limit cannot be sustained.
        let judged = p["rate_reached"] == true && p["p99_us"].as_u64().unwrap() <= 20_000;
        assert!(p["ok"] != true || judged, "{p}");
        assert!(p["ok"] != true || p["rate"].as_f64().unwrap() <= 1_050.0, "{p}");
    }
    let best = probes
        .iter()
        .filter(met)
        .map(|p| p["rate"].as_f64().unwrap())
        .reduce(f64::max);
    assert_eq!(
        capacity["rps"].as_f64(),
        best,
        "the capacity is the best rate that met the target: {capacity}"
    );
    if let Some(rps) = best {
        // Bounded from above by a miss, or said to be a lower bound.
        let missed_above = probes
            .iter()
            .any(|p| p["ok"] != true && p["rate"].as_f64().unwrap() > rps);
        assert!(missed_above || capacity["at_least"] == true, "{capacity}");
    }
    // A search the client's lateness ended says so: the capacity is only "at least".
    assert!(
        capacity["client_limited"] != true || best.is_none() || capacity["at_least"] == true,
        "{capacity}"
    );
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

//! Every strategy under servers/, for real, through `lbbench run`: each serves 200 Hello World
//! from both of its 2 workers, and kill -9 of lbbench mid-run leaves none of its processes
//! behind. One test per strategy: a strategy that cannot run here is reported ignored with the
//! reason `lbbench list` gives (and fails in CI, which installs everything). A trial mostly
//! waits for a cell to start and reads who served, not how fast: four run at a time.

mod common;

use common::{all_debug_bins, run_strategy, strategies, workspace_lbbench, TWO_WORKERS as PROFILE};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;
use testkit::{descendants, gone, trial_unless, wait_for};

/// Strategies whose processes are not all ours: front programs with workers of their own (PM2's
/// daemon among them).
const FRONTS: [&str; 10] = [
    "nginx",
    "nginx-least-conn",
    "nginx-reuseport",
    "haproxy",
    "haproxy-shards",
    "node-cluster-rr",
    "node-cluster-express-rr",
    "pm2-cluster",
    "iptables-nth",
    "proxy-l7",
];

fn main() {
    let bin = all_debug_bins();
    let concentrating = common::concentrating(&bin);
    let mut trials = Vec::new();
    for (name, unmet) in strategies(&bin) {
        let b = bin.clone();
        let n = name.clone();
        let every = !concentrating.contains(&name);
        trials.push(trial_unless(
            format!("serves_from_both_workers::{name}"),
            unmet.clone(),
            move || serves_from_both_workers(&b, &n, every),
        ));
        // A pair's workers are another program, started by the launcher: kill -9 must take them
        // too. Tried with the Node worker: an Express pair's process tree is the same (the same
        // launcher, the same Node program with another app), and each costs a run.
        if FRONTS.contains(&name.as_str()) || name.ends_with("+node") {
            let b = bin.clone();
            trials.push(trial_unless(
                format!("kill_9_leaves_nothing::{name}"),
                unmet,
                move || kill_9_leaves_nothing(&b, &name),
            ));
        }
    }
    testkit::run_trials_at_once(trials, 4);
}

fn iptables_nat() -> Option<String> {
    let out = Command::new("iptables").args(["-w", "-t", "nat", "-S"]).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `every`: every worker must have served; otherwise (its mechanism may hand one worker every
/// connection: `lbbench list` says so) the answers must come from its workers.
fn serves_from_both_workers(bin: &Path, strategy: &str, every: bool) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), PROFILE).unwrap();
    let nat_before = iptables_nat();
    let out = run_strategy(bin, dir.path(), strategy).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("res/results.json")).unwrap()).unwrap();
    assert_eq!(
        results["failures"].as_array().unwrap().len(),
        0,
        "failed cells: {}",
        results["failures"]
    );
    assert_eq!(
        results["skipped"].as_array().unwrap().len(),
        0,
        "{}",
        results["skipped"]
    );
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "one cell per workload: {results}");
    let mut seen: Vec<String> = Vec::new();
    for c in cells {
        let name = format!("{strategy} {}", c["workload"]);
        assert_eq!(c["strategy"], strategy);
        // Every cell records its worker: a pair's is its second half, the others' non-empty.
        match strategy.split_once('+') {
            Some((_, worker)) => assert_eq!(c["worker"], worker, "{name}"),
            None => assert!(c["worker"].as_str().is_some_and(|w| !w.is_empty()), "{name}: {c}"),
        }
        assert!(c["rps"].as_f64().unwrap() > 0.0, "{name}: {c}");
        seen.extend(c["per_worker"].as_object().unwrap().keys().cloned());
        if c["workload"] == "keepalive" {
            assert_eq!(c["errors"], 0, "{name}: {}", c["error_kinds"]);
        }
    }
    // A keep-alive burst may all land on one worker (shared-socket's accept race is exactly
    // that); across both workloads every strategy must have used both workers.
    seen.sort();
    seen.dedup();
    if every {
        assert_eq!(seen, ["0", "1"], "{strategy}: both workers must serve");
    } else {
        assert!(
            !seen.is_empty() && seen.iter().all(|w| w == "0" || w == "1"),
            "{strategy}: answered by {seen:?}"
        );
    }
    assert_eq!(nat_before, iptables_nat(), "the host's nat table changed");
}

fn kill_9_leaves_nothing(bin: &Path, strategy: &str) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("long.toml"), PROFILE.replace("500ms", "60s")).unwrap();
    let mut run = workspace_lbbench(
        bin,
        dir.path(),
        &["run", "-c", "long.toml", "--no-build", "--strategies", strategy],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    // Running = both workers have announced that they serve (lbbench-w0, lbbench-w1), so the
    // strategy's processes are all there, however long a busy machine took to start them.
    let serving = || {
        let names: Vec<String> = descendants(run.id()).into_iter().map(comm).collect();
        ["lbbench-w0", "lbbench-w1"]
            .iter()
            .all(|w| names.iter().any(|n| n == w))
    };
    assert!(
        wait_for(Duration::from_secs(60), serving),
        "{strategy}: never served; processes: {:?}",
        descendants(run.id()).into_iter().map(comm).collect::<Vec<_>>()
    );
    let procs = descendants(run.id());
    run.kill().unwrap();
    run.wait().unwrap();
    let cleared = wait_for(Duration::from_secs(20), || procs.iter().all(|p| gone(*p)));
    let left: Vec<String> = procs
        .iter()
        .filter(|p| !gone(**p))
        .map(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                .unwrap_or_default()
                .replace('\0', " ")
        })
        .collect();
    assert!(cleared, "{strategy}: left behind after kill -9: {left:?}");
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

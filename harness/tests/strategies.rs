//! Every strategy under servers/, for real, through `lbbench run`: each serves 200 Hello World
//! from both of its 2 workers (skipped, with the reason printed, only where it cannot run here),
//! and kill -9 of lbbench mid-run leaves none of its processes behind.

mod common;

use common::{all_debug_bins, descendants, gone, wait_for, workspace};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// 2 workers on 1 core, so it runs on any machine; both workloads.
const PROFILE: &str = r#"
[sweep]
cores = [1]
workers_per_core = 2
workloads = ["keepalive", "close"]
[load]
connections = 8
duration = "500ms"
warmup = "200ms"
[server]
ready_timeout = "15s"
stop_grace = "2s"
"#;

fn lbbench(bin: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lbbench"));
    cmd.args(args)
        .arg("--servers")
        .arg(workspace().join("servers"))
        .arg("--bin")
        .arg(bin)
        .current_dir(dir);
    cmd
}

fn iptables_nat() -> Option<String> {
    let out = Command::new("iptables").args(["-w", "-t", "nat", "-S"]).output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn every_strategy_serves_from_both_workers() {
    let bin = all_debug_bins();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), PROFILE).unwrap();
    let nat_before = iptables_nat();
    let out = lbbench(&bin, dir.path(), &["run", "-c", "p.toml", "--out", "res", "--no-build"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("res/results.json")).unwrap()).unwrap();
    for s in results["skipped"].as_array().unwrap() {
        println!("SKIPPED {}: {}", s["strategy"], s["reason"]);
    }
    assert_eq!(
        results["failures"].as_array().unwrap().len(),
        0,
        "failed cells: {}",
        results["failures"]
    );
    let cells = results["cells"].as_array().unwrap();
    assert!(!cells.is_empty());
    let mut served: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for c in cells {
        let name = format!("{} {}", c["strategy"], c["workload"]);
        assert!(c["rps"].as_f64().unwrap() > 0.0, "{name}: {c}");
        println!("{name}: per worker {}", c["per_worker"]);
        let seen = served.entry(c["strategy"].to_string()).or_default();
        seen.extend(c["per_worker"].as_object().unwrap().keys().cloned());
        if c["workload"] == "keepalive" {
            assert_eq!(c["errors"], 0, "{name}: {}", c["error_kinds"]);
        }
    }
    // A keep-alive burst may all land on one worker (shared-socket's accept race is exactly
    // that); across both workloads every strategy must have used both workers.
    for (strategy, mut seen) in served {
        seen.sort();
        seen.dedup();
        assert_eq!(seen, ["0", "1"], "{strategy}: both workers must serve");
    }
    // Each measured strategy appears for both workloads.
    let measured = cells.len() / 2;
    let skipped = results["skipped"].as_array().unwrap().len();
    let listed = String::from_utf8_lossy(&lbbench(&bin, dir.path(), &["list"]).output().unwrap().stdout)
        .lines()
        .filter(|l| !l.starts_with(' '))
        .count();
    assert_eq!(
        measured + skipped,
        listed,
        "every listed strategy is measured or skipped with a reason"
    );
    assert_eq!(nat_before, iptables_nat(), "the host's nat table changed");
}

/// Strategies whose processes are not all ours: front programs with workers of their own.
const FRONTS: [&str; 5] = ["nginx", "haproxy", "node-cluster-rr", "iptables-nth", "proxy-l7"];

#[test]
fn kill_9_mid_run_leaves_no_process_of_any_strategy() {
    let bin = all_debug_bins();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("long.toml"), PROFILE.replace("500ms", "60s")).unwrap();
    let list = String::from_utf8_lossy(&lbbench(&bin, dir.path(), &["list"]).output().unwrap().stdout).into_owned();
    for strategy in FRONTS {
        let available = list
            .lines()
            .skip_while(|l| !l.starts_with(strategy))
            .nth(1)
            .is_some_and(|l| l.trim() == "available");
        if !available {
            println!("SKIPPED {strategy}: not available here (see `lbbench list`)");
            continue;
        }
        let mut run = lbbench(
            &bin,
            dir.path(),
            &["run", "-c", "long.toml", "--no-build", "--strategies", strategy],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        // Running = the strategy has answered and the load is on: its processes are all there.
        let results = dir.path().join("results");
        let started = wait_for(Duration::from_secs(20), || descendants(run.id()).len() >= 5);
        assert!(
            started,
            "{strategy}: never started; processes: {:?}",
            descendants(run.id())
        );
        std::thread::sleep(Duration::from_millis(800));
        let procs = descendants(run.id());
        run.kill().unwrap();
        run.wait().unwrap();
        let cleared = wait_for(Duration::from_secs(5), || procs.iter().all(|p| gone(*p)));
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
        let _ = std::fs::remove_dir_all(results);
    }
}

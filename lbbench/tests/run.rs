//! `lbbench` end to end: discovery of a new strategy directory, a full tiny sweep, failures that
//! do not stop the sweep, and nothing left behind after kill -9.

mod common;

use common::{copy_of_reuseport, debug_bin, lbbench, servers, text, workspace, TINY};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use testkit::{trial, wait_for, Needs};

fn main() {
    let root = Needs {
        root: true,
        ..Needs::NOTHING
    };
    testkit::run_trials(vec![
        trial(
            "a_new_strategy_directory_is_listed_and_run",
            Needs::NOTHING,
            a_new_strategy_directory_is_listed_and_run,
        ),
        trial(
            "lbbench_new_copies_a_rust_strategy",
            Needs::NOTHING,
            lbbench_new_copies_a_rust_strategy,
        ),
        trial(
            "a_strategy_that_fails_to_start_is_reported_and_the_sweep_goes_on",
            Needs::NOTHING,
            a_strategy_that_fails_to_start_is_reported_and_the_sweep_goes_on,
        ),
        trial(
            "unknown_strategies_and_unavailable_ones_are_explained",
            Needs::NOTHING,
            unknown_strategies_and_unavailable_ones_are_explained,
        ),
        trial(
            "the_client_keeps_its_cpus_at_every_core_count",
            Needs {
                cpus: 2,
                ..Needs::NOTHING
            },
            the_client_keeps_its_cpus_at_every_core_count,
        ),
        trial(
            "a_rebuild_during_a_sweep_does_not_break_it",
            Needs::NOTHING,
            a_rebuild_during_a_sweep_does_not_break_it,
        ),
        trial(
            "kill_9_of_lbbench_leaves_no_process",
            Needs::NOTHING,
            kill_9_of_lbbench_leaves_no_process,
        ),
        trial(
            "kill_9_of_lbbench_leaves_no_namespace",
            root,
            kill_9_of_lbbench_leaves_no_namespace,
        ),
    ]);
}

fn a_new_strategy_directory_is_listed_and_run() {
    let bin = debug_bin("reuseport");
    let root = servers(&[("my-copy", copy_of_reuseport("my-copy"))]);
    let list = lbbench(root.path(), &bin, &["list"]);
    assert!(list.status.success(), "{}", text(&list.stderr));
    assert!(text(&list.stdout).contains("my-copy") && text(&list.stdout).contains("available"));

    let out = lbbench(root.path(), &bin, &["run", "-c", "tiny.toml", "--out", "res"]);
    assert!(
        out.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.path().join("res/results.json")).unwrap()).unwrap();
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "{results}");
    assert_eq!(results["finished"], true, "a sweep run to its end says so");
    let page = std::fs::read_to_string(root.path().join("res/index.html")).unwrap();
    assert!(page.contains("2 cells measured, the sweep finished"), "the page's head");
    for c in cells {
        assert_eq!(c["strategy"], "my-copy");
        assert!(c["rps"].as_f64().unwrap() > 0.0, "{c}");
        assert_eq!(
            c["per_worker"].as_object().unwrap().keys().collect::<Vec<_>>(),
            ["0"],
            "{c}"
        );
        if c["workload"] == "keepalive" {
            assert_eq!(c["errors"], 0, "{c}");
        }
    }
    let csv = std::fs::read_to_string(root.path().join("res/results.csv")).unwrap();
    assert_eq!(csv.lines().count(), 3);
    for svg in [
        "throughput-keepalive",
        "latency-keepalive",
        "throughput-close",
        "latency-close",
    ] {
        let t = std::fs::read_to_string(root.path().join(format!("res/{svg}.svg"))).unwrap();
        assert!(t.starts_with("<svg") && t.contains("my-copy"), "{svg}.svg");
    }
    assert!(
        text(&out.stdout).contains("my-copy"),
        "summary table: {}",
        text(&out.stdout)
    );
}

/// `lbbench new` in a copy of the repository: the copy of reuseport builds with Cargo, is listed
/// and serves, as the README shows.
fn lbbench_new_copies_a_rust_strategy() {
    let repo = tempfile::tempdir().unwrap();
    for part in ["Cargo.toml", "Cargo.lock", "crates", "servers", "lbbench"] {
        let status = Command::new("cp")
            .arg("-r")
            .arg(workspace().join(part))
            .arg(repo.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let new = Command::new(env!("CARGO_BIN_EXE_lbbench"))
        .args(["new", "my-copy", "--from", "reuseport", "--servers", "servers"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(new.status.success(), "{}", text(&new.stderr));
    // The shared target directory keeps this to compiling the copy and its path dependencies.
    let target = Path::new(env!("CARGO_BIN_EXE_lbbench"))
        .parent()
        .unwrap()
        .parent()
        .unwrap();
    let build = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "my-copy"])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", text(&build.stderr));
    let root = repo.path();
    std::fs::write(root.join("tiny.toml"), TINY).unwrap();
    let bin = target.join("debug");
    let list = lbbench(root, &bin, &["list"]);
    assert!(text(&list.stdout).contains("my-copy"), "{}", text(&list.stdout));
    let out = lbbench(
        root,
        &bin,
        &[
            "run",
            "-c",
            "tiny.toml",
            "--strategies",
            "my-copy",
            "--no-build",
            "--out",
            "res",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let results = std::fs::read_to_string(root.join("res/results.json")).unwrap();
    assert!(results.contains("\"strategy\": \"my-copy\""), "{results}");
}

fn a_strategy_that_fails_to_start_is_reported_and_the_sweep_goes_on() {
    let bin = debug_bin("reuseport");
    let broken =
        "name = \"broken\"\ndescription = \"fails at once\"\nstart = \"sh -c 'echo boom-on-stderr >&2; exit 3'\"\n";
    let root = servers(&[("broken", broken.to_string()), ("good", copy_of_reuseport("good"))]);
    let out = lbbench(root.path(), &bin, &["run", "-c", "tiny.toml", "--out", "res"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("boom-on-stderr"),
        "the strategy's stderr is shown: {}",
        text(&out.stderr)
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.path().join("res/results.json")).unwrap()).unwrap();
    let failures = results["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 2);
    assert!(failures[0]["error"].as_str().unwrap().contains("boom-on-stderr"));
    assert!(results["cells"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["strategy"] == "good"));
    assert_eq!(results["cells"].as_array().unwrap().len(), 2);
}

fn unknown_strategies_and_unavailable_ones_are_explained() {
    let bin = debug_bin("reuseport");
    let needs = "name = \"needs-tool\"\ndescription = \"d\"\nstart = \"true\"\n[requires]\nprograms = [\"no-such-tool-lbbench\"]\npackages = [\"no-such-package\"]\n";
    let root = servers(&[("a", copy_of_reuseport("alpha")), ("b", needs.to_string())]);
    let out = lbbench(root.path(), &bin, &["run", "-c", "tiny.toml", "--strategies", "nope"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("unknown strategy \"nope\"") && err.contains("alpha, needs-tool"),
        "{err}"
    );
    let list = text(&lbbench(root.path(), &bin, &["list"]).stdout);
    assert!(
        list.contains("unavailable: needs no-such-tool-lbbench on PATH"),
        "{list}"
    );
    let pkgs = text(&lbbench(root.path(), &bin, &["packages"]).stdout);
    assert_eq!(pkgs.trim(), "no-such-package");
}

/// Cores 1 and 2: the client has the same CPUs (and threads) in every cell, as results.json's
/// topology says, and each cell records its CPUs' cores and nodes.
fn the_client_keeps_its_cpus_at_every_core_count() {
    let bin = debug_bin("reuseport");
    let root = servers(&[("my-copy", copy_of_reuseport("my-copy"))]);
    let config = TINY
        .replace("cores = [1]", "cores = [1, 2]")
        .replace(r#"workloads = ["keepalive", "close"]"#, r#"workloads = ["keepalive"]"#);
    std::fs::write(root.path().join("two.toml"), config).unwrap();
    let out = lbbench(root.path(), &bin, &["run", "-c", "two.toml", "--out", "res"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.path().join("res/results.json")).unwrap()).unwrap();
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "{results}");
    for c in cells {
        assert_eq!(c["client_cpus"], cells[0]["client_cpus"], "the client moved: {cells:?}");
        assert_eq!(c["threads"], cells[0]["threads"], "{cells:?}");
    }
    for c in cells {
        let placed: Vec<&serde_json::Value> = c["placement"]["client"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["cpu"])
            .collect();
        assert_eq!(serde_json::json!(placed), c["client_cpus"], "{c}");
        assert!(c["placement"]["server"][0]["node"].is_u64(), "{c}");
    }
    let topology = &results["topology"];
    let client: Vec<&serde_json::Value> = topology["client_cpus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["cpu"])
        .collect();
    assert_eq!(serde_json::json!(client), cells[0]["client_cpus"], "{topology}");
    assert_eq!(topology["client_threads"], cells[0]["threads"], "{topology}");
    assert_eq!(cells[0]["shared_cpus"], false, "{cells:?}");
    assert!(text(&out.stderr).contains("client: CPU"), "{}", text(&out.stderr));
}

/// Processes running the executable at `exe`.
fn running(exe: &Path) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path().join("exe"))
                .map(|p| p == exe)
                .unwrap_or(false)
        })
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

/// Runs a 30 s sweep of a private copy of reuseport, kills lbbench with SIGKILL once the
/// strategy serves, and waits until none of its processes is left. Returns the network
/// namespace the strategy ran in.
fn kill_9_mid_cell() -> PathBuf {
    // A private copy of the binary, so only this test's processes match.
    let bin_dir = tempfile::tempdir().unwrap();
    let exe = bin_dir.path().join("reuseport");
    std::fs::copy(debug_bin("reuseport").join("reuseport"), &exe).unwrap();
    let long = copy_of_reuseport("victim");
    let root = servers(&[("victim", long)]);
    std::fs::write(root.path().join("long.toml"), TINY.replace("400ms", "30s")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_lbbench"))
        .args(["run", "-c", "long.toml", "--out", "res", "--servers"])
        .arg(root.path().join("servers"))
        .arg("--bin")
        .arg(bin_dir.path())
        .current_dir(root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut pids = Vec::new();
    let started = wait_for(Duration::from_secs(60), || {
        pids = running(&exe);
        pids.len() >= 2
    });
    assert!(started, "the strategy never started");
    let netns = std::fs::read_link(format!("/proc/{}/ns/net", pids[0])).unwrap();
    let prefix = format!("lbbench-{}-victim-", child.id());
    let run_dirs = || {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .map(|e| e.path())
            .collect::<Vec<_>>()
    };
    assert!(!run_dirs().is_empty(), "the cell has a run directory while it runs");
    child.kill().unwrap();
    child.wait().unwrap();
    let cleared = wait_for(Duration::from_secs(20), || running(&exe).is_empty());
    assert!(cleared, "left behind: {:?}", running(&exe));
    let removed = wait_for(Duration::from_secs(20), || run_dirs().is_empty());
    assert!(removed, "the cell's guard removes its run directory: {:?}", run_dirs());
    netns
}

fn kill_9_of_lbbench_leaves_no_process() {
    kill_9_mid_cell();
}

/// As root, each cell has a network namespace of its own, which must vanish with it.
fn kill_9_of_lbbench_leaves_no_namespace() {
    let netns = kill_9_mid_cell();
    let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert_ne!(netns, ours, "as root, the cell runs in a network namespace of its own");
    let holders: Vec<_> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read_link(e.path().join("ns/net"))
                .map(|n| n == netns)
                .unwrap_or(false)
        })
        .collect();
    assert!(
        holders.is_empty(),
        "the cell's network namespace {netns:?} is still held by {holders:?}"
    );
}

/// Each cell is a child process of lbbench's own executable: replacing the file mid-sweep (cargo
/// build does) must not fail the cells after it.
fn a_rebuild_during_a_sweep_does_not_break_it() {
    let bin_dir = tempfile::tempdir().unwrap();
    let exe = bin_dir.path().join("reuseport");
    std::fs::copy(debug_bin("reuseport").join("reuseport"), &exe).unwrap();
    let lbbench_copy = bin_dir.path().join("lbbench");
    std::fs::copy(env!("CARGO_BIN_EXE_lbbench"), &lbbench_copy).unwrap();
    let root = servers(&[("rebuilt", copy_of_reuseport("rebuilt"))]);
    let profile = TINY.replace("400ms", "1s").replace("[load]", "[load]\nopen_loop = []");
    std::fs::write(root.path().join("p.toml"), profile).unwrap();
    let child = Command::new(&lbbench_copy)
        .args(["run", "-c", "p.toml", "--out", "res", "--servers"])
        .arg(root.path().join("servers"))
        .arg("--bin")
        .arg(bin_dir.path())
        .current_dir(root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(60), || !running(&exe).is_empty()),
        "the first cell never started"
    );
    // What a rebuild does: the old file unlinked, a new one in its place.
    std::fs::remove_file(&lbbench_copy).unwrap();
    std::fs::write(&lbbench_copy, b"#!/bin/sh\nexit 1\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.path().join("res/results.json")).unwrap()).unwrap();
    assert_eq!(results["failures"], serde_json::json!([]), "{}", text(&out.stderr));
    assert_eq!(results["cells"].as_array().unwrap().len(), 2, "both workloads measured");
}

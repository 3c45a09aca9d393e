//! The worker axis: workers under workers/ (and a user's own, in a directory of its own) behind
//! the strategies that front workers. A user's Python worker runs behind nginx and iptables with
//! no harness change; the reuseport launcher hands each Node worker a socket of its own, the
//! shared-socket one the same socket to all; `lbbench list` shows the pairs.

mod common;

use common::{all_debug_bins, run_strategy, strategies, workspace, workspace_lbbench, TWO_WORKERS as PROFILE};
use std::path::Path;
use testkit::trial_unless;

/// The balancers that front workers, each with the Node and the Express worker behind it.
const FRONTING: [&str; 9] = [
    "iptables-nth",
    "iptables-random",
    "proxy-l7",
    "proxy-l4",
    "nginx",
    "nginx-least-conn",
    "haproxy",
    "reuseport",
    "shared-socket",
];

fn fixture_workers() -> String {
    workspace().join("lbbench/tests/fixtures/workers").display().to_string()
}

fn main() {
    let bin = all_debug_bins();
    let all = strategies(&bin);
    let unmet = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| all.iter().find(|(s, _)| s == n).and_then(|(_, why)| why.clone()))
            .or_else(|| {
                testkit::which("python3")
                    .is_none()
                    .then(|| "needs python3 on PATH".to_string())
            })
    };
    let mut trials = vec![trial_unless(
        "list_shows_node_and_express_behind_every_balancer",
        None,
        {
            let b = bin.clone();
            move || list_shows_the_pairs(&b)
        },
    )];
    let b = bin.clone();
    trials.push(trial_unless(
        "a_users_worker_runs_behind_nginx_and_iptables",
        unmet(&["nginx", "iptables-nth"]),
        move || a_users_worker_runs_behind_nginx_and_iptables(&b),
    ));
    for (strategy, sockets) in [("reuseport+node", 2), ("shared-socket+node", 1)] {
        let b = bin.clone();
        trials.push(trial_unless(
            format!("node_workers_get_their_sockets::{strategy}"),
            unmet(&[strategy]),
            move || node_workers_get_their_sockets(&b, strategy, sockets),
        ));
    }
    testkit::run_trials(trials);
}

fn list_shows_the_pairs(bin: &Path) {
    let names: Vec<String> = strategies(bin).into_iter().map(|(n, _)| n).collect();
    for balancer in FRONTING {
        for worker in ["node", "express"] {
            let pair = format!("{balancer}+{worker}");
            assert!(names.contains(&pair), "{pair} is not listed: {names:?}");
        }
    }
    // A strategy that is its own worker gets no pairs.
    assert!(!names
        .iter()
        .any(|n| n.starts_with("node-cluster-rr+") || n.starts_with("cluster-rr+")));
}

fn a_users_worker_runs_behind_nginx_and_iptables(bin: &Path) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), PROFILE).unwrap();
    let pairs = "nginx+python-hello,iptables-nth+python-hello";
    let workers = fixture_workers();
    let out = run_strategy(bin, dir.path(), pairs)
        .args(["--worker-dir", &workers])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("res/results.json")).unwrap()).unwrap();
    assert_eq!(results["failures"], serde_json::json!([]), "{stderr}");
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 4, "two pairs, two workloads: {results}");
    for c in cells {
        assert_eq!(c["worker"], "python-hello", "{c}");
        let served: Vec<&String> = c["per_worker"].as_object().unwrap().keys().collect();
        assert_eq!(
            served,
            ["0", "1"],
            "{} {}: both workers must serve",
            c["strategy"],
            c["workload"]
        );
        assert_eq!(
            c["errors"], 0,
            "{} {}: {}",
            c["strategy"], c["workload"], c["error_kinds"]
        );
        assert!(c["rps"].as_f64().unwrap() > 0.0, "{c}");
    }
    assert!(
        results["versions"]["strategies"]["nginx+python-hello"]
            .as_str()
            .is_some_and(|v| v.contains("worker python-hello: Python 3")),
        "the worker's version is recorded: {}",
        results["versions"]
    );
}

/// Served with 2 workers: `ss` counts the listening sockets on the port (one per worker under
/// SO_REUSEPORT, one for all with a shared socket), and 100 new connections are answered by both.
fn node_workers_get_their_sockets(bin: &Path, strategy: &str, sockets: usize) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = "ss -ltnH \"sport = :$P\" | wc -l; \
                  for i in $(seq 100); do curl -s -o /dev/null -D- \"$LBBENCH_URL\" | tr -d '\\r' | grep -i '^x-worker:'; done";
    let dir = tempfile::tempdir().unwrap();
    let out = workspace_lbbench(
        bin,
        dir.path(),
        &[
            "serve",
            strategy,
            "--workers",
            "2",
            "--port",
            &port.to_string(),
            "--",
            "sh",
            "-c",
            script,
        ],
    )
    .env("P", port.to_string())
    .output()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let mut lines = stdout.lines();
    let listening: usize = lines.next().unwrap().trim().parse().unwrap();
    assert_eq!(listening, sockets, "{strategy}: listening sockets on port {port}");
    let workers: Vec<&str> = lines.filter_map(|l| l.split(':').nth(1)).map(str::trim).collect();
    assert_eq!(workers.len(), 100, "{strategy}: every request answered: {stdout}");
    for w in ["0", "1"] {
        assert!(
            workers.contains(&w),
            "{strategy}: worker {w} never answered a new connection: {workers:?}"
        );
    }
}

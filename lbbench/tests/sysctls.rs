//! A strategy's `sysctls` are written in its cell's private network namespace, by `lbbench run`
//! and `lbbench serve` alike, and the host's values stay as they were. As root only: without root
//! there is no private namespace, and such a strategy is skipped.

mod common;

use common::{debug_bin, servers, strategies, text, workspace};
use std::path::Path;
use std::process::Command;
use testkit::{trial, trial_unless, Needs};

const FIN_TIMEOUT: &str = "/proc/sys/net/ipv4/tcp_fin_timeout";
const MIGRATE_REQ: &str = "/proc/sys/net/ipv4/tcp_migrate_req";
const RESERVED_PORTS: &str = "/proc/sys/net/ipv4/ip_local_reserved_ports";

fn main() {
    let root = Needs {
        root: true,
        ..Needs::NOTHING
    };
    let bin = debug_bin("reuseport");
    let migrate_unmet = strategies(&bin)
        .into_iter()
        .find(|(name, _)| name == "reuseport-migrate")
        .expect("servers/reuseport-migrate is listed")
        .1;
    testkit::run_trials(vec![
        trial("run_sets_them_in_the_cell_only", root, run_sets_them_in_the_cell_only),
        trial("serve_sets_them_too", root, serve_sets_them_too),
        trial(
            "no_outgoing_connection_takes_a_port_of_the_strategy",
            root,
            no_outgoing_connection_takes_a_port_of_the_strategy,
        ),
        trial_unless(
            "reuseport_migrate_serves_with_tcp_migrate_req_on",
            migrate_unmet,
            reuseport_migrate_serves_with_tcp_migrate_req_on,
        ),
    ]);
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_string()
}

/// A value for tcp_fin_timeout other than the host's.
fn other_than_host() -> String {
    if read(FIN_TIMEOUT) == "17" { "18" } else { "17" }.to_string()
}

/// The reuseport strategy named `name`, running `shell` (what it records) before it execs, with
/// `extra` manifest lines.
fn recorder(name: &str, records: &str, shell: &str, extra: &str) -> String {
    format!(
        r#"name = "{name}"
description = "reuseport, recording {records} at start"
start = "sh -c '{shell} && exec \"$0\" \"$@\"' {{bin}}/reuseport --workers {{workers}} --port {{port}} --cpus {{cpus}}"
{extra}[requires]
root = true
"#
    )
}

/// The reuseport strategy, with `net.ipv4.tcp_fin_timeout = value`, writing the value it finds at
/// start into `seen` before it execs.
fn recording_strategy(value: &str, seen: &Path) -> String {
    recorder(
        "recorder",
        "net.ipv4.tcp_fin_timeout",
        &format!("cat {FIN_TIMEOUT} > {}", seen.display()),
        &format!("sysctls = {{ \"net.ipv4.tcp_fin_timeout\" = \"{value}\" }}\n"),
    )
}

fn run_sets_them_in_the_cell_only() {
    let bin = debug_bin("reuseport");
    let (host, value) = (read(FIN_TIMEOUT), other_than_host());
    let scratch = tempfile::tempdir().unwrap();
    let seen = scratch.path().join("seen");
    let root = servers(&[("recorder", recording_strategy(&value, &seen))]);
    let out = common::lbbench(root.path(), &bin, &["run", "-c", "tiny.toml", "--out", "res"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.path().join("res/results.json")).unwrap()).unwrap();
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "{results}");
    assert!(
        cells.iter().all(|c| c["isolated"] == true),
        "as root, cells are isolated: {results}"
    );
    assert_eq!(std::fs::read_to_string(&seen).unwrap().trim(), value);
    assert_eq!(read(FIN_TIMEOUT), host, "the host's net.ipv4.tcp_fin_timeout changed");
}

/// `lbbench serve NAME --port 8080 --workers 2 -- COMMAND` (a private namespace has port 8080
/// free); returns what COMMAND printed.
fn serve(servers_dir: &Path, bin: &Path, strategy: &str, command: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_lbbench"))
        .args(["serve", strategy, "--port", "8080", "--workers", "2", "--servers"])
        .arg(servers_dir)
        .arg("--bin")
        .arg(bin)
        .arg("--")
        .args(command)
        .output()
        .unwrap();
    assert!(out.status.success(), "serve {strategy}: {}", text(&out.stderr));
    text(&out.stdout)
}

fn serve_sets_them_too() {
    let bin = debug_bin("reuseport");
    let (host, value) = (read(FIN_TIMEOUT), other_than_host());
    let scratch = tempfile::tempdir().unwrap();
    let root = servers(&[("recorder", recording_strategy(&value, &scratch.path().join("seen")))]);
    let printed = serve(&root.path().join("servers"), &bin, "recorder", &["cat", FIN_TIMEOUT]);
    assert_eq!(printed.trim(), value, "the command runs in the strategy's namespace");
    assert_eq!(read(FIN_TIMEOUT), host, "the host's net.ipv4.tcp_fin_timeout changed");
}

fn reuseport_migrate_serves_with_tcp_migrate_req_on() {
    let bin = debug_bin("reuseport");
    let host = read(MIGRATE_REQ);
    let printed = serve(
        &workspace().join("servers"),
        &bin,
        "reuseport-migrate",
        &["cat", MIGRATE_REQ],
    );
    assert_eq!(
        printed.trim(),
        "1",
        "net.ipv4.tcp_migrate_req where the strategy serves"
    );
    assert_eq!(read(MIGRATE_REQ), host, "the host's net.ipv4.tcp_migrate_req changed");
}

/// The reuseport strategy, writing the namespace's reserved ports, its port and its number of
/// workers into `seen` before it execs.
fn port_recorder(seen: &Path) -> String {
    let seen = seen.display();
    recorder(
        "ports",
        "the ports kept from outgoing connections",
        &format!("cat {RESERVED_PORTS} > {seen} && echo {{port}} {{workers}} >> {seen}"),
        "",
    )
}

/// A cell widens the range of ports outgoing connections take (connection-per-request load) but
/// keeps the strategy's own out of it: while a fronted worker is dead its port is free, and an
/// outgoing connection that took it (nginx keeps its connections to the other workers open)
/// would keep the replacement from binding it. `lbbench serve` in a namespace does the same.
fn no_outgoing_connection_takes_a_port_of_the_strategy() {
    let bin = debug_bin("reuseport");
    let host = read(RESERVED_PORTS);
    let scratch = tempfile::tempdir().unwrap();
    let seen = scratch.path().join("seen");
    let root = servers(&[("ports", port_recorder(&seen))]);
    let out = common::lbbench(root.path(), &bin, &["run", "-c", "tiny.toml", "--out", "res"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let recorded = std::fs::read_to_string(&seen).unwrap();
    let mut lines = recorded.lines();
    let reserved = lines.next().unwrap().trim().to_string();
    let words: Vec<u32> = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|w| w.parse().unwrap())
        .collect();
    let (port, workers) = (words[0], words[1]);
    assert!(workers >= 1, "{recorded}");
    assert_eq!(
        reserved,
        format!("{port}-{}", port + workers),
        "in the cell: {recorded}"
    );
    let printed = serve(&root.path().join("servers"), &bin, "ports", &["cat", RESERVED_PORTS]);
    assert_eq!(
        printed.trim(),
        "8080-8082",
        "serve --port 8080 --workers 2, in its namespace"
    );
    assert_eq!(
        read(RESERVED_PORTS),
        host,
        "the host's net.ipv4.ip_local_reserved_ports changed"
    );
}

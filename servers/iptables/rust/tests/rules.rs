//! The NAT rules for real, in a private network namespace: connections spread over both workers,
//! and no rule is left once the strategy stops. The host's tables are never touched.

use std::process::Command;
use testkit::{trial, Needs};

const BIN: &str = env!("CARGO_BIN_EXE_iptables-lb");

const NEEDS: Needs = Needs {
    root: true,
    programs: &["unshare", "ip", "iptables", "bash"],
    cpus: 0,
};

fn main() {
    testkit::run_trials(vec![
        trial("nth_rules_round_robin_connections_and_vanish_on_stop", NEEDS, nth),
        trial("random_rules_reach_both_workers", NEEDS, random),
        trial("the_host_namespace_is_refused", Needs::NOTHING, host_refused),
    ]);
}

fn host_nat() -> String {
    String::from_utf8_lossy(
        &Command::new("iptables")
            .args(["-w", "-t", "nat", "-S"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned()
}

/// Inside `unshare --net`: start 2 workers behind the rules, open connections with bash's
/// /dev/tcp ($COUNT of them), stop the strategy, and report what was seen.
const SCRIPT: &str = r#"
set -u
ip link set lo up
export LBBENCH_NETNS=$(readlink /proc/self/ns/net)
"$BIN" --mode "$MODE" --workers 2 --port 18080 & pid=$!
for _ in $(seq 200); do [ "$(iptables -w -t nat -S OUTPUT | grep -c lbbench)" = 2 ] && break; sleep 0.05; done
echo "rules $(iptables -w -t nat -S OUTPUT | grep -c lbbench)"
for _ in $(seq "$COUNT"); do
  exec 3<>/dev/tcp/127.0.0.1/18080
  printf 'GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' >&3
  tr -d '\r' <&3 | grep '^X-Worker'
  exec 3<&-
done
kill -TERM $pid; wait $pid
echo "exit $?"
echo "after $(iptables -w -t nat -S OUTPUT | grep -c lbbench)"
"#;

fn run(mode: &str, count: usize) -> String {
    let out = Command::new("unshare")
        .args(["--net", "bash", "-c", SCRIPT])
        .env("BIN", BIN)
        .env("MODE", mode)
        .env("COUNT", count.to_string())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    text
}

fn nth() {
    let before = host_nat();
    let out = run("nth", 10);
    assert!(out.contains("rules 2\n"), "{out}");
    assert_eq!(out.matches("X-Worker: 0").count(), 5, "exact round-robin: {out}");
    assert_eq!(out.matches("X-Worker: 1").count(), 5, "exact round-robin: {out}");
    assert!(out.contains("exit 0\n") && out.contains("after 0\n"), "{out}");
    assert_eq!(before, host_nat(), "the host's nat table changed");
}

fn random() {
    // 40 connections: both workers are missed by chance with probability 2^-39.
    let out = run("random", 40);
    assert_eq!(out.matches("X-Worker: ").count(), 40, "{out}");
    assert!(out.contains("X-Worker: 0") && out.contains("X-Worker: 1"), "{out}");
    assert!(out.contains("rules 2\n") && out.contains("after 0\n"), "{out}");
}

fn host_refused() {
    let out = Command::new(BIN)
        .args(["--workers", "1", "--port", "18090"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to add NAT rules"));
}

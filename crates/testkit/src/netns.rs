//! Trials that must run in a private network namespace (NAT rules belong nowhere else): the
//! test binary runs itself again for each one inside `unshare --net`, with loopback up and
//! `LBBENCH_NETNS` naming the namespace, as lbbench's cells do, and the body runs there. So the
//! host's tables are never touched, and a strategy that refuses unvouched namespaces is tested
//! as it runs in a cell.

use crate::{output_within, Needs};
use libtest_mimic::Trial;
use std::process::Command;
use std::time::Duration;

/// Set, to the trial's name, in the copy of the test binary that runs inside the namespace.
const INSIDE: &str = "TESTKIT_NETNS_TRIAL";

/// Brings loopback up and vouches for the namespace, then runs the test binary.
const SCRIPT: &str = r#"ip link set lo up && LBBENCH_NETNS=$(readlink /proc/self/ns/net) exec "$@""#;

/// What a namespace trial needs besides the caller's `needs`.
const PROGRAMS: [&str; 3] = ["unshare", "ip", "sh"];

/// Whether this process is the copy running trial `name` inside its namespace.
pub fn inside(name: &str) -> bool {
    std::env::var(INSIDE).is_ok_and(|n| n == name)
}

/// A trial whose `body` runs inside a private network namespace: root and `needs` are required
/// (ignored with the reason outside CI, failed in CI, as [`crate::trial`] does).
pub fn trial(name: impl Into<String>, needs: Needs, body: impl FnOnce() + Send + 'static) -> Trial {
    let name = name.into();
    if inside(&name) {
        return crate::trial_unless(name, None, body);
    }
    let n = name.clone();
    crate::trial_unless(name, unmet(needs), move || run_inside(&n))
}

/// What a namespace trial with `needs` lacks here, in words.
pub fn unmet(needs: Needs) -> Option<String> {
    let ours = Needs {
        root: true,
        programs: &PROGRAMS,
        cpus: 0,
    };
    let missing: Vec<String> = [ours.unmet(), needs.unmet()].into_iter().flatten().collect();
    (!missing.is_empty()).then(|| missing.join("; "))
}

/// Runs trial `name` of this test binary inside a fresh network namespace, and fails with its
/// output when it fails (or runs no test: a misspelt name must not pass).
pub fn run_inside(name: &str) {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut cmd = Command::new("unshare");
    cmd.args(["--net", "sh", "-c", SCRIPT, "sh"])
        .arg(exe)
        .args(["--exact", name, "--test-threads", "1", "--nocapture"])
        .env(INSIDE, name);
    let out = output_within(&mut cmd, Duration::from_secs(300)).unwrap_or_else(|e| panic!("{e}"));
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains(" 1 passed;"),
        "{name} in a private network namespace: {}\n{stdout}\n{stderr}",
        out.status
    );
    // Shown with --nocapture: what the body printed (counts, say).
    eprint!("{stderr}");
}

//! A client on one CPU reaches only the workers pinned there, also once workers were replaced
//! and reloaded. Needs Linux 6.2 (or a stable kernel with the fix): before it, the group ignored
//! the option.

use testkit::steering::check_cpu_steering;
use testkit::{trial_unless, Needs};

fn main() {
    let two_cpus = Needs {
        cpus: 2,
        ..Needs::NOTHING
    };
    testkit::run_trials(vec![trial_unless(
        "each_cpus_connections_reach_its_workers",
        two_cpus.unmet().or_else(kernel_too_old),
        || check_cpu_steering(env!("CARGO_BIN_EXE_reuseport-incoming-cpu"), &[]),
    )]);
}

/// Why this kernel cannot run the check, if it is older than 6.2.
fn kernel_too_old() -> Option<String> {
    let uname = nix::sys::utsname::uname().ok()?;
    let release = uname.release().to_string_lossy().into_owned();
    let v: Vec<u64> = release
        .split(|c: char| !c.is_ascii_digit())
        .take(2)
        .filter_map(|p| p.parse().ok())
        .collect();
    (v < vec![6, 2]).then(|| format!("needs Linux 6.2 or later (this kernel is {release})"))
}

//! What each program does with new connections: `random` spreads them as a fair draw would,
//! `cpu` keeps each CPU's to the workers pinned there, also once workers were replaced (their
//! sockets moved in the group) and reloaded.

use testkit::steering::{check_cpu_steering, counts, workers_of_new_connections};
use testkit::{trial, Needs, Running};

const BIN: &str = env!("CARGO_BIN_EXE_reuseport-cbpf");

fn main() {
    let two_cpus = Needs {
        cpus: 2,
        ..Needs::NOTHING
    };
    testkit::run_trials(vec![
        trial("random_spreads_new_connections_as_a_fair_draw", Needs::NOTHING, random),
        trial("cpu_keeps_each_cpus_connections_to_its_workers", two_cpus, || {
            check_cpu_steering(BIN, &["--select", "cpu"])
        }),
    ]);
}

/// 1,000 connections over 4 workers: each count is binomial (n = 1000, p = 1/4: mean 250,
/// standard deviation 13.7), so each lies within 5 standard deviations, 250 ± 69, but for a
/// chance of about 2 in a million per run. A hash of the connections' ports would too; what it
/// would not do is what the other check shows: the same draw after workers were replaced.
fn random() {
    let server = Running::start(BIN, 4, &["--select", "random"]);
    let check = |when: &str| {
        let c = counts(&workers_of_new_connections(server.port, 1000), 4);
        assert!(c.iter().all(|&n| (181..=319).contains(&n)), "{when}: {c:?}");
    };
    check("at start");
    let master = server.child.id();
    let w0 = testkit::steering::all_named(master, 4)[0];
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(w0 as i32), nix::sys::signal::SIGKILL).unwrap();
    let replaced = testkit::wait_for(std::time::Duration::from_secs(20), || {
        testkit::procs::named_workers(master, 4)[0].is_some_and(|p| p != w0) && testkit::gone(w0)
    });
    assert!(replaced, "worker 0 was not replaced");
    check("after worker 0 was replaced");
}

//! The client-saturation flag on a real run: a client that offers a trickle is not flagged. And
//! the pacing threads' real-time priority: asked for in open loop, every thread has it (root).
//! (A saturated client is flagged when its busiest thread never waits on the server: unit tests
//! cover that rule and the thread clock it rests on; `make bench-loadgen` shows it on real load,
//! where a loaded machine cannot make the test lie.) Its own test binary, so no sibling test
//! competes for the pinned CPU.

mod common;

use loadgen::{run, LoadOptions};
use std::time::Duration;
use testkit::{trial, Needs, Running};

fn main() {
    let needs = Needs {
        cpus: 2,
        ..Needs::NOTHING
    };
    testkit::run_trials(vec![
        trial("an_idle_client_is_not_flagged", needs, an_idle_client_is_not_flagged),
        trial(
            "open_loop_paces_at_real_time_priority_when_asked",
            Needs { root: true, ..needs },
            open_loop_paces_at_real_time_priority_when_asked,
        ),
    ]);
}

fn trickle(port: u16, client_cpu: usize, realtime: bool) -> LoadOptions {
    LoadOptions {
        addr: ([127, 0, 0, 1], port).into(),
        host: "t".into(),
        path: "/".into(),
        connections: 4,
        threads: 1,
        cpus: vec![client_cpu],
        duration: Duration::from_secs(1),
        warmup: Duration::from_millis(200),
        timeout: Duration::from_secs(2),
        keepalive: true,
        pipeline: 1,
        interval: Duration::from_millis(100),
        rate: Some(200.0),
        realtime,
    }
}

fn an_idle_client_is_not_flagged() {
    let cpus = lbproc::cpus::allowed();
    let bin = common::debug_bin("reuseport").join("reuseport");
    let server = Running::start(bin.to_str().unwrap(), 1, &["--cpus", &cpus[1].to_string()]);
    let idle = run(&trickle(server.port, cpus[0], false)).unwrap();
    assert!(!idle.client_saturated, "200 req/s leaves the client idle: {idle:?}");
    assert!(idle.client_cpu_busy < 0.5, "{idle:?}");
}

/// Root may raise the pacing threads: the report says they ran at real-time priority when asked
/// (and only then), with requests answered and none failed.
fn open_loop_paces_at_real_time_priority_when_asked() {
    loadgen::priority::allowed().expect("root may use SCHED_FIFO");
    let cpus = lbproc::cpus::allowed();
    let bin = common::debug_bin("reuseport").join("reuseport");
    let server = Running::start(bin.to_str().unwrap(), 1, &["--cpus", &cpus[1].to_string()]);
    for realtime in [true, false] {
        let r = run(&trickle(server.port, cpus[0], realtime)).unwrap();
        let pacing = r.pacing.as_ref().expect("an open loop reports its pacing");
        assert_eq!(pacing.realtime, realtime, "{r:?}");
        assert!(r.ok > 0 && r.errors == 0, "{r:?}");
    }
}

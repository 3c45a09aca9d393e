//! The client-saturation flag: set when the load generator has one CPU against a server that
//! outruns it, clear when it has headroom. Its own test binary, so no sibling test competes for
//! the pinned CPU.

mod common;

use lbbench::load::{run, LoadOptions};
use std::time::Duration;
use testkit::{trial, Needs, Running};

fn main() {
    let needs = Needs {
        cpus: 2,
        ..Needs::NOTHING
    };
    testkit::run_trials(vec![trial(
        "a_busy_client_is_flagged_and_an_idle_one_is_not",
        needs,
        busy_and_idle,
    )]);
}

fn busy_and_idle() {
    let cpus = lbbench::machine::allowed_cpus();
    let bin = common::debug_bin("reuseport").join("reuseport");
    let server = Running::start(bin.to_str().unwrap(), 1, &["--cpus", &cpus[1].to_string()]);
    let options = LoadOptions {
        addr: ([127, 0, 0, 1], server.port).into(),
        host: "t".into(),
        path: "/".into(),
        connections: 64,
        threads: 1,
        cpus: vec![cpus[0]],
        duration: Duration::from_secs(1),
        warmup: Duration::from_millis(200),
        timeout: Duration::from_secs(2),
        keepalive: true,
        rate: None,
    };
    let busy = run(&options).unwrap();
    assert!(
        busy.client_saturated,
        "64 closed-loop connections on one client CPU: {busy:?}"
    );
    let idle = run(&LoadOptions {
        connections: 4,
        rate: Some(200.0),
        ..options
    })
    .unwrap();
    assert!(!idle.client_saturated, "200 req/s leaves the client idle: {idle:?}");
    assert!(idle.client_cpu_busy < 0.5, "{idle:?}");
}

//! The client-saturation flag: set when the load generator has one CPU against a server that
//! outruns it, clear when it has headroom. Its own test binary, so no sibling test competes for
//! the pinned CPU.

use lbbench::load::{run, LoadOptions};
use std::time::Duration;

#[test]
fn a_busy_client_is_flagged_and_an_idle_one_is_not() {
    let cpus = lbbench::machine::allowed_cpus();
    if cpus.len() < 2 {
        eprintln!("SKIPPED: needs 2 CPUs (one for the server, one for the client)");
        return;
    }
    let listener = hello::worker::bind("127.0.0.1:0".parse().unwrap(), false).unwrap();
    let port = listener.local_addr().unwrap().port();
    let server_cpu = cpus[1];
    std::thread::spawn(move || {
        hello::process::pin(&[server_cpu]).unwrap();
        hello::worker::serve_listener(listener, 0, Duration::from_secs(5))
    });
    let options = LoadOptions {
        addr: ([127, 0, 0, 1], port).into(),
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

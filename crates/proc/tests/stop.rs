//! The one stop routine, on real processes. Its own test binary: spawning forks this process,
//! and a fork holds every descriptor (sockets of tests beside it too) until it execs.

use lbproc::{alive, stop};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
#[allow(clippy::zombie_processes)] // `stop` reaps them: that is what is tested
fn term_first_then_kill_after_the_grace() {
    let polite = Command::new("sleep").arg("30").spawn().unwrap();
    let p = Pid::from_raw(polite.id() as i32);
    assert_eq!(stop(&[p], Duration::from_secs(5), None), 0, "sleep exits on SIGTERM");
    assert!(!alive(p));
    // In a group of its own, so the group kill takes its `sleep` too.
    let stubborn = Command::new("sh")
        .args(["-c", "trap '' TERM; sleep 30 & wait"])
        .process_group(0)
        .spawn()
        .unwrap();
    let s = Pid::from_raw(stubborn.id() as i32);
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    assert_eq!(stop(&[s], Duration::from_millis(200), Some(s)), 1);
    assert!(t.elapsed() < Duration::from_secs(3) && !alive(s));
    // The orphaned sleep is killed; init reaps it a moment later.
    let deadline = Instant::now() + Duration::from_secs(5);
    while nix::sys::signal::killpg(s, None).is_ok() {
        assert!(Instant::now() < deadline, "the group's sleep outlived the stop");
        std::thread::sleep(Duration::from_millis(10));
    }
}

//! The one stop routine, on real processes. Its own test binary: spawning forks this process,
//! and a fork holds every descriptor (sockets of tests beside it too) until it execs.

use lbproc::{alive, stop};
use nix::unistd::Pid;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

/// Polls `cond` every 10 ms until it holds; false if it still does not after `limit`.
fn within(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !cond() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}

/// Whether process `pid` ignores SIGTERM: bit 14 (signal 15) of the SigIgn mask in its status.
fn ignores_term(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("SigIgn:"))
                .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        })
        .is_some_and(|mask| mask & (1 << 14) != 0)
}

/// (pid, command, state) of every process in process group `pgid`, zombies included.
fn group_members(pgid: i32) -> Vec<(i32, String, char)> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
        let (Some((head, rest)), Some(open)) = (stat.rsplit_once(')'), stat.find('(')) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() > 2 && f[2].parse() == Ok(pgid) {
            let state = f[0].chars().next().unwrap_or('?');
            found.push((pid, head[open + 1..].to_string(), state));
        }
    }
    found
}

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
    // Until the shell ignores SIGTERM and its `sleep` runs (it forks that after the trap), a
    // SIGTERM would end it politely, or leave no `sleep` for the group kill to take.
    let ready = within(Duration::from_secs(10), || {
        ignores_term(s.as_raw())
            && group_members(s.as_raw())
                .iter()
                .any(|(pid, comm, _)| *pid != s.as_raw() && comm == "sleep")
    });
    assert!(
        ready,
        "the shell never got to ignore SIGTERM and wait: {:?}",
        group_members(s.as_raw())
    );
    let t = Instant::now();
    assert_eq!(stop(&[s], Duration::from_millis(200), Some(s)), 1);
    // Unkilled, the shell would wait for its `sleep 30`.
    let took = t.elapsed();
    assert!(took < Duration::from_secs(10) && !alive(s), "stop took {took:?}");
    // The orphaned sleep is killed; whoever inherits it may take a while to reap it (or never
    // does), so a zombie counts as gone.
    let cleared = within(Duration::from_secs(10), || {
        group_members(s.as_raw())
            .iter()
            .all(|(_, _, state)| matches!(state, 'Z' | 'X'))
    });
    assert!(cleared, "the group outlived the stop: {:?}", group_members(s.as_raw()));
}

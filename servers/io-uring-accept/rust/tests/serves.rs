//! io-uring-accept for real, in both accept modes: the strategy contract (with multishot any
//! worker may answer: one taking nearly every connection is what it measures), every one of 200
//! new connections served, with the per-worker counts printed, and one-shot reaching every
//! worker; a stopping ring's cancel never strands a connection (`stopping`); and the probe's
//! refusal, with io_uring blocked by a seccomp filter.
//!
//! Tests that need io_uring ask the probe: where it cannot run they are ignored with its reason
//! outside CI, and fail in CI.

mod stopping;

use io_uring_accept::ring::Mode;
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use testkit::contract;
use testkit::{get_close, trial, trial_unless, worker_of, Answering, Needs, Running};

const BIN: &str = env!("CARGO_BIN_EXE_io-uring-accept");

const MODES: [(&str, &[&str], Answering); 2] = [
    ("multishot", &["--accept", "multishot"], Answering::Any),
    ("oneshot", &["--accept", "oneshot"], Answering::Every),
];

fn main() {
    let mut trials = Vec::new();
    for (mode, extra, answering) in MODES {
        let unmet = probe_unmet(mode);
        for (name, check) in contract::checks(BIN, extra, 2, answering) {
            trials.push(trial_unless(format!("{mode}::{name}"), unmet.clone(), check));
        }
        trials.push(trial_unless(
            format!("{mode}::serves_200_new_connections"),
            unmet.clone(),
            move || serves_200_new_connections(mode, extra),
        ));
        let ring_mode = if mode == "oneshot" {
            Mode::Oneshot
        } else {
            Mode::Multishot
        };
        trials.push(trial_unless(
            format!("{mode}::a_stopping_ring_strands_no_connection"),
            unmet,
            move || stopping::a_stopping_ring_strands_no_connection(ring_mode),
        ));
    }
    for (errno, name) in [(libc::EPERM, "eperm"), (libc::ENOSYS, "enosys")] {
        trials.push(trial(
            format!("the_probe_says_why_when_seccomp_refuses_io_uring_setup::{name}"),
            Needs::NOTHING,
            move || probe_refused(errno),
        ));
    }
    testkit::run_trials(trials);
}

/// Why the probe says `mode` cannot run here, if it says so.
fn probe_unmet(mode: &str) -> Option<String> {
    let out = Command::new(BIN).args(["--probe", "--accept", mode]).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    (!out.status.success()).then(|| format!("needs io_uring: {}", said.lines().next().unwrap_or_default()))
}

/// 200 connections one at a time, then 200 from 8 clients at once: every one answered 200 by
/// worker 0 or 1. The counts are printed; only one-shot's are asserted on, and only that each
/// worker gets some (its accepts rejoin the back of the queue after every connection, so one at
/// a time they alternate). Multishot's are not: one worker taking all is its mechanism.
fn serves_200_new_connections(mode: &str, extra: &[&str]) {
    let server = Running::start(BIN, 2, extra);
    server.assert_answering(2, Answering::Any);
    let count = |answer: String, counts: &[AtomicUsize; 2]| {
        assert!(
            answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("Hello World"),
            "{answer:?}"
        );
        let w: usize = worker_of(&answer).expect("an X-Worker header").parse().unwrap();
        counts[w].fetch_add(1, Ordering::Relaxed);
    };
    let one_at_a_time: [AtomicUsize; 2] = Default::default();
    for _ in 0..200 {
        count(get_close(server.port).unwrap(), &one_at_a_time);
    }
    let at_once: [AtomicUsize; 2] = Default::default();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| (0..25).for_each(|_| count(get_close(server.port).unwrap(), &at_once)));
        }
    });
    let [a, b] = one_at_a_time.map(AtomicUsize::into_inner);
    let [c, d] = at_once.map(AtomicUsize::into_inner);
    eprintln!("{mode}: 200 connections one at a time: worker 0 {a}, worker 1 {b}; 8 at a time: {c}, {d}");
    assert_eq!((a + b, c + d), (200, 200));
    if mode == "oneshot" {
        assert!(a > 0 && b > 0, "one-shot accepts must reach both workers: {a}, {b}");
    }
}

/// The probe, with `io_uring_setup` failing with `errno` (a seccomp filter, as a container
/// runtime's profile has): it exits 1 with the reason as its first line. No host setting is
/// touched; the filter dies with the probe.
fn probe_refused(errno: i32) {
    let mut cmd = Command::new(BIN);
    cmd.arg("--probe");
    // SAFETY: between fork and exec, only prctl calls on a filter built on this stack.
    unsafe { cmd.pre_exec(move || refuse_io_uring_setup(errno)) };
    let out = cmd.output().unwrap();
    let first = String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(out.status.code(), Some(1), "{first}");
    match errno {
        libc::ENOSYS => assert!(first.starts_with("this kernel has no io_uring"), "{first}"),
        // Disabled by the setting on a machine that has it set, else blamed on seccomp.
        _ => assert!(
            first.contains("(EPERM)") && first.contains("seccomp") || first.starts_with("io_uring is disabled here"),
            "{first}"
        ),
    }
}

/// Installs a seccomp filter under which `io_uring_setup` fails with `errno` and every other
/// system call is allowed. The architecture is not checked: the filter judges this test's own
/// native calls only.
fn refuse_io_uring_setup(errno: i32) -> std::io::Result<()> {
    let op = |code: u32, k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let filter = [
        // The system call's number: seccomp_data.nr, at offset 0.
        op(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0, 0, 0),
        op(
            libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K,
            libc::SYS_io_uring_setup as u32,
            0,
            1,
        ),
        op(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | errno as u32,
            0,
            0,
        ),
        op(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW, 0, 0),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as u16,
        filter: filter.as_ptr() as *mut _,
    };
    // SAFETY: prctl reads the program we own; no_new_privs lets an unprivileged process filter itself.
    unsafe {
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
            || libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &prog as *const libc::sock_fprog,
            ) != 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

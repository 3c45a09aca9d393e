//! The cell's guard. `lbbench cell` forks before anything else: the child runs the cell, the
//! parent stays behind as its guard, a child subreaper, so every process of the strategy whose
//! parent dies (the cell's own death included) becomes its child. When the cell ends — or lbbench
//! dies (the guard's parent-death signal is SIGTERM), or the watchdog sends SIGTERM — the guard
//! kills the cell and then everything left below itself before it exits with the cell's status.
//! In a PID namespace the kernel does this anyway when the guard (its init) exits; without one
//! the guard is what keeps, say, an nginx worker from running on after its master died. It also
//! removes the cell's run directory.

use crate::procs;
use anyhow::{Context, Result};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The cell's run directory, which the guard removes when the cell ends.
pub const CELL_DIR_ENV: &str = "LBBENCH_CELL_DIR";
/// How long the guard keeps killing what is left below it.
const SWEEP_LIMIT: Duration = Duration::from_secs(5);
/// How long the watchdog gives an overdue cell's guard after SIGTERM before SIGKILL.
const TERM_GRACE: Duration = Duration::from_secs(10);

/// Forks the cell; returns in the cell (the child), never in the guard. Call while this process
/// has a single thread.
pub fn split() -> Result<()> {
    procs::become_subreaper()?;
    let mut mask = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGCHLD] {
        mask.add(s);
    }
    // Blocked before the fork, so nothing sent meanwhile is lost; the cell unblocks them.
    mask.thread_block().context("blocking signals")?;
    // As a namespace's init the guard was given SIGKILL at its parent's death (an init ignores
    // signals it neither handles nor blocks); blocked now, SIGTERM reaches it and it cleans up.
    lbproc::signal_at_parent_death(nix::unistd::getppid(), libc::SIGTERM).context("setting the parent-death signal")?;
    let guard = nix::unistd::getpid();
    // SAFETY: single-threaded here (the caller's promise), so the child may run any code.
    match unsafe { fork() }.context("forking the cell")? {
        ForkResult::Child => {
            lbproc::die_with_parent(guard)?;
            SigSet::all().thread_unblock()?;
            Ok(())
        }
        ForkResult::Parent { child } => {
            let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC)?;
            let code = watch(child, &signals);
            sweep();
            // Its generated configs and logs: lbbench removes them after the cell, unless it died.
            if let Some(dir) = std::env::var_os(CELL_DIR_ENV) {
                let _ = std::fs::remove_dir_all(dir);
            }
            std::process::exit(code)
        }
    }
}

/// For a process the user may kill with SIGKILL (`lbbench serve`): forks; returns in the child,
/// which does the work and gets SIGTERM (a stop signal it handles) the moment the parent dies.
/// The parent only relays SIGINT, SIGTERM and SIGHUP to the child and exits as it does. Call
/// while this process has a single thread.
pub fn relay() -> Result<()> {
    let mut mask = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGHUP, Signal::SIGCHLD] {
        mask.add(s);
    }
    mask.thread_block().context("blocking signals")?;
    let parent = nix::unistd::getpid();
    // SAFETY: single-threaded here (the caller's promise), so the child may run any code.
    match unsafe { fork() }.context("forking")? {
        ForkResult::Child => {
            lbproc::signal_at_parent_death(parent, libc::SIGTERM).context("setting the parent-death signal")?;
            SigSet::all().thread_unblock()?;
            Ok(())
        }
        ForkResult::Parent { child } => {
            let signals = SignalFd::with_flags(&mask, SfdFlags::SFD_CLOEXEC)?;
            loop {
                let Ok(Some(info)) = signals.read_signal() else {
                    continue;
                };
                if info.ssi_signo as i32 != Signal::SIGCHLD as i32 {
                    if let Ok(s) = Signal::try_from(info.ssi_signo as i32) {
                        let _ = kill(child, s);
                    }
                    continue;
                }
                match waitpid(child, Some(WaitPidFlag::WNOHANG)) {
                    Ok(WaitStatus::Exited(_, code)) => std::process::exit(code),
                    Ok(WaitStatus::Signaled(_, sig, _)) => std::process::exit(128 + sig as i32),
                    _ => continue,
                }
            }
        }
    }
}

/// Waits for the cell's end (its exit, or a stop signal: then it is killed); returns the exit
/// code to leave with.
fn watch(cell: Pid, signals: &SignalFd) -> i32 {
    loop {
        let Ok(Some(info)) = signals.read_signal() else {
            continue;
        };
        if info.ssi_signo as i32 != Signal::SIGCHLD as i32 {
            let _ = kill(cell, Signal::SIGKILL);
            let _ = waitpid(cell, None);
            return 128 + info.ssi_signo as i32;
        }
        // Orphans of the strategy that exit are ours to reap too.
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == cell => return code,
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == cell => return 128 + sig as i32,
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    }
}

/// Kills everything below this process until nothing is (bounded in time): what a strategy left
/// behind when it stopped, a daemonized grandchild among them (this process is their subreaper).
/// In a PID namespace of our own /proc's numbers are not ours to signal; exiting is enough there.
pub fn sweep() {
    if !lbproc::pidns::proc_is_ours() {
        return;
    }
    let me = procs::proc_self_pid();
    let deadline = Instant::now() + SWEEP_LIMIT;
    loop {
        let left = procs::descendants(me);
        if left.is_empty() || Instant::now() >= deadline {
            return;
        }
        for p in &left {
            let _ = kill(Pid::from_raw(p.pid), Signal::SIGKILL);
        }
        while let Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) = waitpid(None, Some(WaitPidFlag::WNOHANG)) {}
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Parent side: a thread that, should the cell (`pid`, its guard) not be `finished` within
/// `limit`, sends it SIGTERM (the guard stops everything the cell started) and SIGKILL if it has
/// not gone after a grace. Returns whether the cell was overdue.
pub fn watchdog(pid: i32, limit: Duration, finished: Arc<AtomicBool>) -> JoinHandle<bool> {
    let until = move |deadline: Instant| {
        while !finished.load(Ordering::SeqCst) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        !finished.load(Ordering::SeqCst)
    };
    std::thread::spawn(move || {
        let overdue = until(Instant::now() + limit);
        if overdue {
            // The pid is still the cell's unless the deadline falls in the instant between the
            // cell being reaped and `finished` being set.
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            if until(Instant::now() + TERM_GRACE) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        overdue
    })
}

//! A master's life: start the workers, then wait on signals (and on whatever descriptors the
//! master serves itself) until told to stop. No async runtime, so the master stays
//! single-threaded and may fork a replacement for a worker at any time.

use crate::stop::stop;
use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::time::Duration;

/// What a master does beyond supervising: start worker `i`, and optionally serve descriptors.
pub trait Master {
    /// Starts worker `index` (at start, and to replace one that died); returns its pid.
    fn spawn(&mut self, index: usize) -> Result<Pid>;
    /// Whether worker `index` is replaced when it dies (a front program, say, is not).
    fn respawnable(&self, _index: usize) -> bool {
        true
    }
    /// Descriptors to wait on besides the signals, with the events of interest.
    fn watch(&self) -> Vec<(RawFd, PollFlags)> {
        Vec::new()
    }
    /// A watched descriptor is ready.
    fn ready(&mut self, _fd: RawFd, _events: PollFlags) -> Result<()> {
        Ok(())
    }
    /// Worker `index` has exited (called before any replacement starts).
    fn exited(&mut self, _index: usize) {}
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Time between SIGTERM and SIGKILL when stopping the workers.
    pub grace: Duration,
    /// Replace a worker that dies; otherwise its death stops the master with an error.
    pub respawn: bool,
}

/// Runs `master` with `workers` workers until SIGTERM or SIGINT (Ok), or until a worker that is
/// not replaced dies or the master fails (Err). Every worker is stopped before this returns.
pub fn supervise(master: &mut impl Master, workers: usize, policy: Policy) -> Result<()> {
    let mut mask = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGCHLD] {
        mask.add(s);
    }
    // Blocked before any fork, so no SIGCHLD is lost; children unblock everything (fork_child).
    mask.thread_block().context("blocking signals")?;
    let mut signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
    let mut pids: Vec<Pid> = Vec::with_capacity(workers);
    let outcome = (|| {
        for i in 0..workers {
            pids.push(master.spawn(i).with_context(|| format!("starting worker {i}"))?);
        }
        run(master, &mut pids, &mut signals, policy)
    })();
    stop(&pids, policy.grace, None);
    outcome
}

fn run(master: &mut impl Master, pids: &mut [Pid], signals: &mut SignalFd, policy: Policy) -> Result<()> {
    loop {
        let watched = master.watch();
        let ready: Vec<(RawFd, PollFlags)> = {
            // SAFETY: the master keeps every watched descriptor open while `watch` lists it.
            let borrowed: Vec<BorrowedFd> = watched
                .iter()
                .map(|(fd, _)| unsafe { BorrowedFd::borrow_raw(*fd) })
                .collect();
            let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
            fds.extend(borrowed.iter().zip(&watched).map(|(b, (_, ev))| PollFd::new(*b, *ev)));
            match poll(&mut fds, PollTimeout::NONE) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => r.context("waiting for signals")?,
            };
            let mut ready: Vec<(RawFd, PollFlags)> = watched
                .iter()
                .zip(&fds[1..])
                .filter_map(|((fd, _), p)| p.revents().filter(|r| !r.is_empty()).map(|r| (*fd, r)))
                .collect();
            if fds[0].revents().is_some_and(|r| !r.is_empty()) {
                ready.push((-1, PollFlags::POLLIN));
            }
            ready
        };
        for (fd, events) in ready {
            if fd >= 0 {
                master.ready(fd, events)?;
                continue;
            }
            while let Some(info) = signals.read_signal()? {
                match Signal::try_from(info.ssi_signo as i32) {
                    Ok(Signal::SIGTERM) | Ok(Signal::SIGINT) => return Ok(()),
                    _ => reap(master, pids, policy)?,
                }
            }
        }
    }
}

/// Collects every exited child; replaces dead workers or fails, as the policy says.
fn reap(master: &mut impl Master, pids: &mut [Pid], policy: Policy) -> Result<()> {
    loop {
        let status = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => return Ok(()),
            Ok(s) => s,
            Err(e) => return Err(e.into()),
        };
        let Some(pid) = status.pid() else { continue };
        let Some(i) = pids.iter().position(|&p| p == pid) else {
            continue;
        };
        master.exited(i);
        if !(policy.respawn && master.respawnable(i)) {
            bail!("worker {i} (pid {pid}) exited unexpectedly: {status:?}");
        }
        eprintln!("worker {i} (pid {pid}) exited ({status:?}); starting a replacement");
        pids[i] = master.spawn(i).with_context(|| format!("replacing worker {i}"))?;
    }
}

//! A master's life: start the workers, then wait on signals (and on whatever descriptors the
//! master serves itself) until told to stop. No async runtime, so the master stays
//! single-threaded and may fork a replacement for a worker at any time.
//!
//! SIGHUP reloads: by default every worker is replaced in turn (a rolling replacement, as a
//! pre-fork server's graceful restart does): its successor is started, and once that one serves
//! the old worker gets SIGTERM to finish what it has, and SIGKILL if it has not within the grace.

use crate::stop::stop;
use anyhow::{bail, Context, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, BorrowedFd, RawFd};
use std::time::{Duration, Instant};

/// How long a rolling reload waits for a successor to serve before it retires the old worker
/// anyway (the successor may have died and been replaced meanwhile).
const SUCCESSOR_LIMIT: Duration = Duration::from_secs(10);
/// How often the loop looks at a reload in progress and at retiring workers.
const TICK: u8 = 10;

/// What a master does beyond supervising: start worker `i`, and optionally serve descriptors.
pub trait Master {
    /// Starts worker `index` (at start, to replace one that died, and in a rolling reload while
    /// its predecessor still runs); returns its pid.
    fn spawn(&mut self, index: usize) -> Result<Pid>;
    /// Whether worker `index` is replaced when it dies (a front program, say, is not).
    fn respawnable(&self, _index: usize) -> bool {
        true
    }
    /// Whether a rolling reload replaces process `index`: by default the respawnable ones.
    fn reloadable(&self, index: usize) -> bool {
        self.respawnable(index)
    }
    /// SIGHUP. Returns true when the master has reloaded by itself (forwarded the signal to a
    /// front program, say); false (the default) asks for a rolling replacement of every
    /// reloadable process.
    fn reload(&mut self) -> Result<bool> {
        Ok(false)
    }
    /// Whether process `index`, running as `pid`, serves yet: by default once it has named
    /// itself `lbbench-w<index>`.
    fn serving(&self, index: usize, pid: Pid) -> bool {
        crate::child::is_named_worker(pid, index)
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
    /// A rolling reload is about to retire `pid`, worker `index`'s predecessor (its successor
    /// serves, or took too long): called just before the predecessor gets SIGTERM, so a master
    /// that must know when the predecessor stops taking connections can make that happen itself.
    fn retiring(&mut self, _index: usize, _pid: Pid) -> Result<()> {
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Time between SIGTERM and SIGKILL when stopping the workers (and a retiring one).
    pub grace: Duration,
    /// Replace a worker that dies; otherwise its death stops the master with an error.
    pub respawn: bool,
}

/// Runs `master` with `workers` workers until SIGTERM or SIGINT (Ok), or until a worker that is
/// not replaced dies or the master fails (Err). Every worker is stopped before this returns.
pub fn supervise(master: &mut impl Master, workers: usize, policy: Policy) -> Result<()> {
    let mut mask = SigSet::empty();
    for s in [Signal::SIGTERM, Signal::SIGINT, Signal::SIGCHLD, Signal::SIGHUP] {
        mask.add(s);
    }
    // Blocked before any fork, so no SIGCHLD is lost; children unblock everything (fork_child).
    mask.thread_block().context("blocking signals")?;
    let mut signals = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)?;
    let mut s = State {
        pids: Vec::with_capacity(workers),
        retiring: Vec::new(),
        roll: None,
        policy,
    };
    let outcome = (|| {
        for i in 0..workers {
            s.pids
                .push(master.spawn(i).with_context(|| format!("starting worker {i}"))?);
        }
        run(master, &mut s, &mut signals)
    })();
    let everyone: Vec<Pid> = s.pids.iter().copied().chain(s.retiring.iter().map(|r| r.0)).collect();
    stop(&everyone, policy.grace, None);
    outcome
}

struct State {
    pids: Vec<Pid>,
    /// Replaced by a reload and finishing their connections: (pid, when to SIGKILL it).
    retiring: Vec<(Pid, Instant)>,
    roll: Option<Roll>,
    policy: Policy,
}

/// A rolling reload in progress.
struct Roll {
    /// The next index to replace.
    next: usize,
    /// The index being replaced: its predecessor's pid, and when its successor started.
    current: Option<(usize, Pid, Instant)>,
    /// Another SIGHUP came meanwhile: roll again once this one is done.
    again: bool,
}

fn run(master: &mut impl Master, s: &mut State, signals: &mut SignalFd) -> Result<()> {
    loop {
        let watched = master.watch();
        let busy = s.roll.is_some() || !s.retiring.is_empty();
        let ready: Vec<(RawFd, PollFlags)> = {
            // SAFETY: the master keeps every watched descriptor open while `watch` lists it.
            let borrowed: Vec<BorrowedFd> = watched
                .iter()
                .map(|(fd, _)| unsafe { BorrowedFd::borrow_raw(*fd) })
                .collect();
            let mut fds = vec![PollFd::new(signals.as_fd(), PollFlags::POLLIN)];
            fds.extend(borrowed.iter().zip(&watched).map(|(b, (_, ev))| PollFd::new(*b, *ev)));
            let timeout = if busy {
                PollTimeout::from(TICK)
            } else {
                PollTimeout::NONE
            };
            match poll(&mut fds, timeout) {
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
                    Ok(Signal::SIGHUP) => reload(master, s)?,
                    _ => reap(master, s)?,
                }
            }
        }
        roll_on(master, s)?;
        for (pid, deadline) in &s.retiring {
            if Instant::now() >= *deadline {
                let _ = kill(*pid, Signal::SIGKILL);
            }
        }
    }
}

/// SIGHUP: the master's own reload, or a rolling replacement (queued behind one in progress).
fn reload(master: &mut impl Master, s: &mut State) -> Result<()> {
    if master.reload()? {
        return Ok(());
    }
    match &mut s.roll {
        Some(roll) => roll.again = true,
        None => {
            eprintln!("reloading: replacing every worker in turn");
            s.roll = Some(Roll {
                next: 0,
                current: None,
                again: false,
            });
        }
    }
    Ok(())
}

/// Moves a rolling reload on: retires the predecessor once its successor serves, then starts
/// the next successor.
fn roll_on(master: &mut impl Master, s: &mut State) -> Result<()> {
    let Some(roll) = &mut s.roll else { return Ok(()) };
    if let Some((i, old, since)) = roll.current {
        if !master.serving(i, s.pids[i]) && since.elapsed() < SUCCESSOR_LIMIT {
            return Ok(());
        }
        master
            .retiring(i, old)
            .with_context(|| format!("retiring worker {i}'s predecessor"))?;
        let _ = kill(old, Signal::SIGTERM);
        s.retiring.push((old, Instant::now() + s.policy.grace));
        roll.current = None;
        roll.next = i + 1;
    }
    match (roll.next..s.pids.len()).find(|&i| master.reloadable(i)) {
        Some(i) => {
            let old = s.pids[i];
            s.pids[i] = master
                .spawn(i)
                .with_context(|| format!("starting worker {i}'s successor"))?;
            roll.current = Some((i, old, Instant::now()));
        }
        None if roll.again => {
            roll.next = 0;
            roll.again = false;
        }
        None => {
            eprintln!("reloaded: every worker replaced");
            s.roll = None;
        }
    }
    Ok(())
}

/// Collects every exited child; replaces dead workers or fails, as the policy says. A retiring
/// worker's exit is the end of its retirement.
fn reap(master: &mut impl Master, s: &mut State) -> Result<()> {
    loop {
        let status = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => return Ok(()),
            Ok(st) => st,
            Err(e) => return Err(e.into()),
        };
        let Some(pid) = status.pid() else { continue };
        s.retiring.retain(|(p, _)| *p != pid);
        let Some(i) = s.pids.iter().position(|&p| p == pid) else {
            continue;
        };
        master.exited(i);
        if !(s.policy.respawn && master.respawnable(i)) {
            bail!("worker {i} (pid {pid}) exited unexpectedly: {status:?}");
        }
        eprintln!("worker {i} (pid {pid}) exited ({status:?}); starting a replacement");
        s.pids[i] = master.spawn(i).with_context(|| format!("replacing worker {i}"))?;
    }
}

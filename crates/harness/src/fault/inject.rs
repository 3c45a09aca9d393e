//! The fault itself: a thread of the cell that waits for the measured window to open, sleeps
//! until the fault's time, finds worker k by its name and signals it (or reloads the strategy),
//! then watches what the strategy does about it until the window closes.
//!
//! Signals go through a descriptor of the process's /proc directory (pidfd_send_signal): whatever
//! PID namespace the cell is in, /proc numbers the process as the host does, and the kernel
//! refuses a process outside the cell's namespace; a pid reused meanwhile is never signalled.

use crate::manifest::{Launch, Reload};
use crate::procs;
use anyhow::{bail, Context, Result};
use model::fault::{FaultConfig, FaultKind};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::collections::{BTreeMap, BTreeSet};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the strategy's processes are looked at after the fault.
const WATCH_EVERY: Duration = Duration::from_millis(10);
/// A reload command still running this long after the window is stopped.
const COMMAND_LIMIT: Duration = Duration::from_secs(10);

/// What the cell knows that the fault needs.
pub struct FaultTarget {
    /// The strategy's first process, as this process numbers it.
    pub server: Pid,
    pub workers: usize,
    pub window: Duration,
    pub launch: Launch,
    pub cwd: PathBuf,
    pub run_dir: PathBuf,
}

/// What happened, in times from the window's opening.
#[derive(Debug, Default)]
pub struct Injected {
    pub at: Option<Duration>,
    pub note: Option<String>,
    pub resumed: Option<Duration>,
    /// From the fault.
    pub respawned: Option<Duration>,
    pub workers_replaced: Option<usize>,
    /// From the fault: when the last worker replaced was.
    pub replaced: Option<Duration>,
    pub processes_ended: Option<usize>,
    pub processes_started: Option<usize>,
}

/// The fault's thread, armed.
pub struct Injector {
    opened: Option<Sender<Instant>>,
    cancel: Arc<AtomicBool>,
    thread: Option<JoinHandle<Injected>>,
}

impl Injector {
    /// Arms `fault` against `target`: a thread that waits for the window to open, then for the
    /// fault's time.
    pub fn arm(fault: &FaultConfig, target: FaultTarget) -> Result<Injector> {
        let (tx, rx) = channel();
        let cancel = Arc::new(AtomicBool::new(false));
        let (f, c) = (fault.clone(), cancel.clone());
        let thread = std::thread::Builder::new()
            .name("fault".into())
            .spawn(move || run(&f, &target, &rx, &c))
            .context("starting the fault's thread")?;
        Ok(Injector {
            opened: Some(tx),
            cancel,
            thread: Some(thread),
        })
    }

    /// The measured window opens now.
    pub fn window_opened(&self) {
        if let Some(tx) = &self.opened {
            let _ = tx.send(Instant::now());
        }
    }

    /// Waits for the fault's thread (it ends by the window's end) and says what happened.
    pub fn finish(mut self) -> Injected {
        self.opened = None;
        self.thread.take().and_then(|t| t.join().ok()).unwrap_or_default()
    }
}

impl Drop for Injector {
    /// The run failed: the thread stops early, a stopped worker continued first.
    fn drop(&mut self) {
        self.opened = None;
        self.cancel.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(f: &FaultConfig, target: &FaultTarget, opened: &Receiver<Instant>, cancel: &AtomicBool) -> Injected {
    let Ok(start) = opened.recv() else {
        return Injected {
            note: Some("the run ended before its measured window opened".into()),
            ..Injected::default()
        };
    };
    let end = start + target.window;
    let wait = |until: Instant| {
        while !cancel.load(Ordering::SeqCst) && Instant::now() < until {
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(20)));
        }
    };
    wait(start + f.at);
    if cancel.load(Ordering::SeqCst) {
        return Injected::default();
    }
    let outcome = match f.kind {
        FaultKind::Reload => reload(target, start, end, cancel),
        _ => signal_worker(f, start, end, cancel, &wait),
    };
    outcome.unwrap_or_else(|e| Injected {
        note: Some(format!("{e:#}")),
        ..Injected::default()
    })
}

fn signal_worker(
    f: &FaultConfig,
    start: Instant,
    end: Instant,
    cancel: &AtomicBool,
    wait: &dyn Fn(Instant),
) -> Result<Injected> {
    let k = f.worker;
    let Some(victim) = workers().get(&k).and_then(|pids| pids.iter().max().copied()) else {
        bail!(
            "not injected: no process is named {}{k}, so worker {k} cannot be found (a strategy's \
             worker k names itself so once it serves; see README, Faults)",
            lbproc::WORKER_NAME
        );
    };
    let signal = match f.kind {
        FaultKind::Kill => Signal::SIGKILL,
        FaultKind::Term => Signal::SIGTERM,
        _ => Signal::SIGSTOP,
    };
    let comm = format!("{}{k}", lbproc::WORKER_NAME);
    let handle = ProcHandle::open(victim, &comm)?;
    handle.signal(signal)?;
    let at = Instant::now();
    let mut injected = Injected {
        at: Some(at - start),
        ..Injected::default()
    };
    if f.kind == FaultKind::Stop {
        // Always continued, however the window ends: a stopped worker must not outlive the fault.
        wait((at + f.duration.unwrap_or_default()).min(end));
        handle.signal(Signal::SIGCONT)?;
        injected.resumed = Some(Instant::now() - start);
        return Ok(injected);
    }
    while !cancel.load(Ordering::SeqCst) && Instant::now() < end {
        if workers().get(&k).is_some_and(|pids| pids.iter().any(|&p| p != victim)) {
            injected.respawned = Some(Instant::now() - at);
            break;
        }
        std::thread::sleep(WATCH_EVERY);
    }
    Ok(injected)
}

fn reload(target: &FaultTarget, start: Instant, end: Instant, cancel: &AtomicBool) -> Result<Injected> {
    let reload = target
        .launch
        .reload
        .as_ref()
        .context("not injected: the strategy's manifest has no `reload`")?;
    let before = workers();
    let everyone: BTreeSet<i32> = procs::of_cell().iter().map(|p| p.pid).collect();
    let mut command = match reload {
        Reload::Signal(_) => {
            let signal = reload
                .signal()
                .context("the reload signal was checked with the manifest")?;
            nix::sys::signal::kill(target.server, signal)
                .with_context(|| format!("sending {signal} to the strategy"))?;
            None
        }
        Reload::Command(argv) => Some(spawn(argv, target)?),
    };
    let at = Instant::now();
    let mut injected = Injected {
        at: Some(at - start),
        ..Injected::default()
    };
    let mut replaced: BTreeMap<usize, Duration> = BTreeMap::new();
    while !cancel.load(Ordering::SeqCst) && Instant::now() < end {
        let now = workers();
        for k in 0..target.workers {
            let old = before.get(&k).cloned().unwrap_or_default();
            let new = now.get(&k).cloned().unwrap_or_default();
            if !replaced.contains_key(&k) && !new.is_empty() && new.is_disjoint(&old) {
                replaced.insert(k, at.elapsed());
            }
        }
        std::thread::sleep(WATCH_EVERY);
    }
    let after: BTreeSet<i32> = procs::of_cell().iter().map(|p| p.pid).collect();
    injected.workers_replaced = Some(replaced.len());
    injected.replaced = replaced.values().max().copied();
    injected.processes_ended = Some(everyone.difference(&after).count());
    injected.processes_started = Some(after.difference(&everyone).count());
    if let Some(child) = &mut command {
        injected.note = finish_command(child, &target.run_dir);
    }
    Ok(injected)
}

/// The reload command, started with the strategy's environment; its output to reload.log.
fn spawn(argv: &[String], target: &FaultTarget) -> Result<std::process::Child> {
    let log = std::fs::File::create(target.run_dir.join("reload.log"))?;
    let mut cmd = std::process::Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .envs(target.launch.env.iter().map(|(k, v)| (k, v)))
        .current_dir(&target.cwd)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    lbproc::tie(&mut cmd)
        .spawn()
        .with_context(|| format!("starting the reload command {:?}", argv[0]))
}

/// Waits (bounded) for the reload command; its failure, with what it printed, as a note.
fn finish_command(child: &mut std::process::Child, run_dir: &std::path::Path) -> Option<String> {
    let deadline = Instant::now() + COMMAND_LIMIT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(WATCH_EVERY),
            _ => break None,
        }
    };
    let printed = || {
        let text = std::fs::read_to_string(run_dir.join("reload.log")).unwrap_or_default();
        text.lines()
            .rev()
            .take(5)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join(" / ")
    };
    match status {
        Some(s) if s.success() => None,
        Some(s) => Some(format!("the reload command failed ({s}): {}", printed())),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            Some(format!(
                "the reload command did not finish within {COMMAND_LIMIT:?} of the window's end: {}",
                printed()
            ))
        }
    }
}

/// The processes named `lbbench-w<k>` below the cell, by k (/proc's numbers).
fn workers() -> BTreeMap<usize, BTreeSet<i32>> {
    let mut by_k: BTreeMap<usize, BTreeSet<i32>> = BTreeMap::new();
    for p in procs::of_cell() {
        if let Some(k) = procs::worker_index(&p.comm) {
            by_k.entry(k).or_default().insert(p.pid);
        }
    }
    by_k
}

/// A process held by its /proc directory: signals reach it, or nothing.
struct ProcHandle(OwnedFd);

impl ProcHandle {
    /// Opens /proc/<pid> and checks the process is still named `comm`.
    fn open(pid: i32, comm: &str) -> Result<ProcHandle> {
        let path = std::ffi::CString::new(format!("/proc/{pid}")).expect("no NUL in a path");
        // SAFETY: open on a path we own; the descriptor returned is ours.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error()).with_context(|| format!("worker {comm} (pid {pid}) is gone"));
        }
        // SAFETY: just opened, owned by nothing else.
        let handle = ProcHandle(unsafe { OwnedFd::from_raw_fd(fd) });
        let name = std::fs::read_to_string(format!("/proc/self/fd/{fd}/comm")).unwrap_or_default();
        if name.trim_end() != comm {
            bail!("process {pid} is no longer {comm} (now {:?})", name.trim_end());
        }
        Ok(handle)
    }

    fn signal(&self, signal: Signal) -> Result<()> {
        // SAFETY: pidfd_send_signal with a /proc directory descriptor we own and no siginfo.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                signal as libc::c_int,
                std::ptr::null::<libc::siginfo_t>(),
                0u32,
            )
        };
        if r != 0 {
            return Err(std::io::Error::last_os_error()).with_context(|| format!("sending {signal}"));
        }
        Ok(())
    }
}

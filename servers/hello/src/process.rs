//! Process plumbing shared by the strategies: CPU pinning, forking workers before any runtime
//! exists, dying with the parent, and a supervisor that stops everything on SIGTERM.

use anyhow::{bail, Context, Result};
use nix::sched::{sched_setaffinity, CpuSet};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{fork, getppid, ForkResult, Pid};
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};

/// Parses a CPU list such as "0-2,5" into sorted, distinct CPU numbers.
pub fn parse_cpus(list: &str) -> Result<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("bad CPU list {list:?}: expected e.g. \"0\", \"0-3\" or \"0,2\"");
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().with_context(bad)?, b.parse().with_context(bad)?);
                if a > b {
                    bail!(bad());
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().with_context(bad)?),
        }
    }
    if cpus.is_empty() {
        bail!("empty CPU list: give at least one CPU, e.g. \"0\"");
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Formats CPUs the way `parse_cpus` reads them.
pub fn format_cpus(cpus: &[usize]) -> String {
    cpus.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",")
}

/// Pins the calling thread (and so every process it forks later) to `cpus`.
pub fn pin(cpus: &[usize]) -> Result<()> {
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c).with_context(|| format!("CPU {c} is out of range"))?;
    }
    sched_setaffinity(Pid::from_raw(0), &set)
        .with_context(|| format!("cannot pin to CPUs {cpus:?}: are they online and allowed?"))
}

/// Asks the kernel to SIGKILL this process when `parent` goes, even if the parent is SIGKILLed.
pub fn die_with(parent: Pid) {
    // SAFETY: prctl with PR_SET_PDEATHSIG only sets a process attribute.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if getppid() != parent {
        // The parent died before the request above took effect.
        std::process::exit(1);
    }
}

/// Spawns a program that is SIGKILLed if this process dies, even by SIGKILL.
pub fn spawn_tied(cmd: &mut std::process::Command) -> Result<Pid> {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec the closure only makes one system call.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start {:?}: is it installed?", cmd.get_program()))?;
    Ok(Pid::from_raw(child.id() as i32))
}

/// Forks `n` workers; worker `i` runs `body(i)` and exits. Call before any runtime or thread exists.
pub fn fork_workers(n: usize, body: impl Fn(usize) -> Result<()>) -> Result<Vec<Pid>> {
    let master = nix::unistd::getpid();
    let mut pids = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: the master is single-threaded here (no runtime yet), so the child may run any code.
        match unsafe { fork() }.context("fork failed")? {
            ForkResult::Child => {
                die_with(master);
                let code = match body(i) {
                    Ok(()) => 0,
                    Err(e) => {
                        eprintln!("worker {i}: {e:#}");
                        1
                    }
                };
                std::process::exit(code);
            }
            ForkResult::Parent { child } => pids.push(child),
        }
    }
    Ok(pids)
}

/// Waits until SIGTERM/SIGINT (Ok) or the death of a worker (Err), then stops every worker.
pub async fn supervise(workers: &[Pid]) -> Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut chld = signal(SignalKind::child())?;
    let outcome = loop {
        if let Some(status) = reaped()? {
            break Err(anyhow::anyhow!(
                "a child process (worker or front program) exited unexpectedly: {status:?}"
            ));
        }
        tokio::select! {
            _ = term.recv() => break Ok(()),
            _ = int.recv() => break Ok(()),
            _ = chld.recv() => {}
        }
    };
    stop(workers, Duration::from_secs(2));
    outcome
}

fn reaped() -> Result<Option<WaitStatus>> {
    match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) | Err(nix::errno::Errno::ECHILD) => Ok(None),
        Ok(status) => Ok(Some(status)),
        Err(e) => Err(e.into()),
    }
}

/// SIGTERM, then SIGKILL whatever is still alive after `grace`; reaps all.
pub fn stop(pids: &[Pid], grace: Duration) {
    for &p in pids {
        let _ = kill(p, Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    let mut alive: Vec<Pid> = pids.to_vec();
    while !alive.is_empty() && Instant::now() < deadline {
        alive.retain(|&p| matches!(waitpid(p, Some(WaitPidFlag::WNOHANG)), Ok(WaitStatus::StillAlive)));
        std::thread::sleep(Duration::from_millis(5));
    }
    for p in alive {
        let _ = kill(p, Signal::SIGKILL);
        let _ = waitpid(p, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpus("0").unwrap(), vec![0]);
        assert_eq!(parse_cpus("3,0-2,2").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(format_cpus(&[0, 2]), "0,2");
        for bad in ["", "a", "2-1", "1-"] {
            assert!(parse_cpus(bad).is_err(), "{bad:?} should be refused");
        }
    }
}

//! The one way processes are stopped: SIGTERM, up to a grace period to exit, then SIGKILL.

use nix::errno::Errno;
use nix::sys::signal::{kill, killpg, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::time::{Duration, Instant};

/// Whether `pid` still runs. Our own children are reaped here when they have exited; any other
/// process counts as gone once it is a zombie.
pub fn alive(pid: Pid) -> bool {
    match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
        Ok(WaitStatus::StillAlive) => true,
        Ok(_) => false,
        Err(Errno::ECHILD) => std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(false),
        Err(_) => false,
    }
}

/// SIGTERM to every process of `pids`, up to `grace` for them to exit, then SIGKILL to those left
/// (and to their whole process group when `group` is set, so nothing they started outlives them).
/// Returns how many had to be killed.
pub fn stop(pids: &[Pid], grace: Duration, group: Option<Pid>) -> usize {
    for &p in pids {
        let _ = kill(p, Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    let mut left: Vec<Pid> = pids.to_vec();
    loop {
        left.retain(|&p| alive(p));
        if left.is_empty() || Instant::now() >= deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    for &p in &left {
        let _ = kill(p, Signal::SIGKILL);
        let _ = waitpid(p, None);
    }
    if let Some(g) = group {
        let _ = killpg(g, Signal::SIGKILL);
    }
    left.len()
}

//! Process ids across PID namespaces. A process in a PID namespace of its own (an isolated cell)
//! knows its children by that namespace's numbers, while the /proc it reads is the host's mount,
//! numbered as the host does: a child's /proc entry is found through a pidfd, whose fdinfo
//! gives its number in /proc's namespace.

use nix::unistd::Pid;
use std::os::fd::{FromRawFd, OwnedFd};

/// Whether /proc numbers processes as this process does (it is in /proc's PID namespace).
pub fn proc_is_ours() -> bool {
    std::fs::read_link("/proc/self")
        .ok()
        .and_then(|p| p.to_str()?.parse::<i32>().ok())
        .is_some_and(|n| n == std::process::id() as i32)
}

/// The number /proc gives `pid` (a process numbered as this process sees it), or None when it
/// is gone.
pub fn proc_pid(pid: Pid) -> Option<i32> {
    if proc_is_ours() {
        return Some(pid.as_raw());
    }
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor we then own.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return None;
    }
    // SAFETY: the descriptor was just returned to us and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let info = std::fs::read_to_string(format!("/proc/self/fdinfo/{}", std::os::fd::AsRawFd::as_raw_fd(&fd))).ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|p| p.trim().parse().ok())
        .filter(|&p: &i32| p > 0)
}

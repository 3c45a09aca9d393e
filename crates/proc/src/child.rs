//! Children tied to their parent: forked before any runtime exists, or spawned programs; either
//! way they die when the parent dies (even by SIGKILL) and inherit none of its other descriptors.

use anyhow::{Context, Result};
use nix::sys::signal::SigSet;
use nix::unistd::{fork, getpid, getppid, ForkResult, Pid};
use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::Command;

/// Asks the kernel to SIGKILL the calling process when its parent goes, then checks the parent is
/// still `parent` (it may have died before the request took effect; then exit at once). Only
/// async-signal-safe calls, so it may run between fork and exec. In a new PID namespace the parent
/// is invisible (getppid() is 0): there the fork has just happened, so it is still alive.
pub fn die_with_parent(parent: Pid) -> std::io::Result<()> {
    signal_at_parent_death(parent, libc::SIGKILL)
}

/// Like [`die_with_parent`], with `signal` instead of SIGKILL: for a process that must clean up
/// after its parent's death before it goes.
pub fn signal_at_parent_death(parent: Pid, signal: libc::c_int) -> std::io::Result<()> {
    // SAFETY: prctl(PR_SET_PDEATHSIG) only sets an attribute of the calling process.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, signal) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let ppid = getppid();
    if ppid != parent && ppid.as_raw() != 0 {
        // SAFETY: _exit is async-signal-safe.
        unsafe { libc::_exit(1) };
    }
    Ok(())
}

/// Makes the program `cmd` starts die with the calling process, and start with no signal
/// blocked or ignored (std closes the other descriptors on exec itself: they are all
/// close-on-exec).
pub fn tie(cmd: &mut Command) -> &mut Command {
    let parent = getpid();
    // SAFETY: the closure runs between fork and exec and makes only async-signal-safe calls.
    unsafe {
        cmd.pre_exec(move || {
            die_with_parent(parent)?;
            reset_signals()
        })
    }
}

/// Unblocks every signal and gives every one its default action. A program inherits its
/// parent's signal mask and the signals it ignores across exec: a program started by a thread
/// that blocks SIGTERM to read it from a descriptor (`lbbench serve`, a supervisor) would never
/// see SIGTERM, and most programs do not reset these themselves. Async-signal-safe, so it may
/// run between fork and exec.
pub fn reset_signals() -> std::io::Result<()> {
    // SAFETY: these calls only change the calling thread's mask and the process's dispositions,
    // on a sigset_t we own; all are async-signal-safe.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        let e = libc::pthread_sigmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        if e != 0 {
            return Err(std::io::Error::from_raw_os_error(e));
        }
        for signal in 1..32 {
            if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                // Handlers are reset by exec anyway; this undoes SIG_IGN, which exec keeps.
                libc::signal(signal, libc::SIG_DFL);
            }
        }
    }
    Ok(())
}

/// Closes every descriptor above stderr except `keep`. Forked children call it so that no child
/// holds a sibling's socket (a dead worker's port would otherwise stay bound by another process).
pub fn close_fds_except(keep: &[RawFd]) -> std::io::Result<()> {
    let mut keep: Vec<u32> = keep.iter().filter(|&&fd| fd > 2).map(|&fd| fd as u32).collect();
    keep.sort_unstable();
    keep.dedup();
    let mut from = 3u32;
    for k in keep.into_iter().chain([u32::MAX]) {
        if k > from {
            close_range(from, k - 1)?;
        }
        from = k.saturating_add(1);
    }
    Ok(())
}

fn close_range(first: u32, last: u32) -> std::io::Result<()> {
    // SAFETY: close_range only closes descriptors of the calling process.
    if unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) } == 0 {
        return Ok(());
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() != Some(libc::ENOSYS) {
        return Err(err);
    }
    // Kernels before 5.9: close what /proc says is open.
    let open: Vec<u32> = std::fs::read_dir("/proc/self/fd")?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| (first..=last).contains(fd))
        .collect();
    for fd in open {
        // SAFETY: closing a descriptor number we own; a stale number (read_dir's own) fails harmlessly.
        unsafe { libc::close(fd as i32) };
    }
    Ok(())
}

/// Forks a child that runs `body` and exits (status 1, with the error on stderr, if it fails).
/// The child dies with this process, starts with no signal blocked, and keeps only stdio and
/// `keep` of the descriptors. Call only while this process has a single thread (no runtime yet).
pub fn fork_child(keep: &[RawFd], body: impl FnOnce() -> Result<()>) -> Result<Pid> {
    let parent = getpid();
    // SAFETY: the caller guarantees a single-threaded process, so the child may run any code.
    match unsafe { fork() }.context("fork failed")? {
        ForkResult::Child => {
            let outcome = (|| {
                die_with_parent(parent)?;
                SigSet::all().thread_unblock()?;
                close_fds_except(keep)?;
                body()
            })();
            let code = match outcome {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("error in child {}: {e:#}", std::process::id());
                    1
                }
            };
            std::process::exit(code);
        }
        ForkResult::Parent { child } => Ok(child),
    }
}

/// The name (`comm`) by which worker k of any strategy announces that it is serving:
/// `lbbench-w<k>`. The harness waits for all of them before it measures, and finds worker k by it.
pub const WORKER_NAME: &str = "lbbench-w";

/// Names the calling process worker `k` (see [`WORKER_NAME`]): call once it is ready to serve.
pub fn announce_worker(k: usize) -> Result<()> {
    set_name(&format!("{WORKER_NAME}{k}"))
}

/// Sets the calling process's name (`comm`, at most 15 bytes, as `ps` and /proc show it).
pub fn set_name(name: &str) -> Result<()> {
    let c = std::ffi::CString::new(name).context("a process name has no NUL byte")?;
    // SAFETY: PR_SET_NAME reads a NUL-terminated string we own.
    if unsafe { libc::prctl(libc::PR_SET_NAME, c.as_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error()).context("prctl(PR_SET_NAME)");
    }
    Ok(())
}

/// Whether `pid` (one of our children) has named itself worker `index` (`lbbench-w<index>`).
pub fn is_named_worker(pid: Pid, index: usize) -> bool {
    let Some(at) = crate::pidns::proc_pid(pid) else {
        return false;
    };
    std::fs::read_to_string(format!("/proc/{at}/comm")).is_ok_and(|c| c.trim_end() == format!("{WORKER_NAME}{index}"))
}

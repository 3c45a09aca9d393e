//! Isolation without root, as rootless containers get it: an unprivileged user namespace of our
//! own owns the cell's network and PID namespaces. The cell keeps the user's own uid and gid
//! (mapped to themselves, so programs such as nginx do not try to switch to another user), and
//! the namespace's capabilities are made ambient, so they survive exec: the cell and the
//! strategy may bring up loopback, set the namespace's sysctls and add iptables rules — there,
//! and nowhere else.

use nix::errno::Errno;
use std::ffi::CString;

/// Turns user namespaces off (`LBBENCH_USERNS=off`): cells run on the host's loopback, as they
/// do where the kernel refuses them. For tests of that fallback, and for anyone who must.
pub const OFF_ENV: &str = "LBBENCH_USERNS";

/// Everything the child needs, prepared before the fork (nothing may allocate after it).
pub struct Maps {
    uid_map: CString,
    gid_map: CString,
    last_cap: u32,
}

impl Maps {
    /// The current user's uid and gid, each mapped to itself.
    pub fn of_current_user() -> Maps {
        let (uid, gid) = (nix::unistd::getuid(), nix::unistd::getgid());
        let last_cap = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(40);
        Maps {
            uid_map: CString::new(format!("{uid} {uid} 1\n")).expect("no NUL in numbers"),
            gid_map: CString::new(format!("{gid} {gid} 1\n")).expect("no NUL in numbers"),
            last_cap,
        }
    }

    /// In the child, between fork and exec: new user, network and PID namespaces, the maps
    /// written, every capability of the new namespace made ambient. Only system calls.
    pub fn enter(&self) -> Result<(), Step> {
        // SAFETY: unshare only changes the calling process's namespaces.
        if unsafe { libc::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET | libc::CLONE_NEWPID) } != 0 {
            return Err(Step::Unshare(Errno::last()));
        }
        // An unprivileged process may map its own ids once setgroups is denied.
        write_file(c"/proc/self/setgroups", c"deny").map_err(Step::Maps)?;
        write_file(c"/proc/self/uid_map", &self.uid_map).map_err(Step::Maps)?;
        write_file(c"/proc/self/gid_map", &self.gid_map).map_err(Step::Maps)?;
        ambient_capabilities(self.last_cap).map_err(Step::Capabilities)
    }
}

/// Where entering a user namespace failed.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    Unshare(Errno),
    Maps(Errno),
    Capabilities(Errno),
}

impl Step {
    /// The probe child's exit status (one byte): the step in the high bits, the errno (most are
    /// below 64) in the low ones.
    fn byte(self) -> i32 {
        let (step, e) = match self {
            Step::Unshare(e) => (1, e),
            Step::Maps(e) => (2, e),
            Step::Capabilities(e) => (3, e),
        };
        step << 6 | (e as i32).min(63)
    }

    pub fn errno(self) -> Errno {
        match self {
            Step::Unshare(e) | Step::Maps(e) | Step::Capabilities(e) => e,
        }
    }

    fn of_byte(b: i32) -> Step {
        let e = Errno::from_raw(b & 63);
        match b >> 6 {
            1 => Step::Unshare(e),
            2 => Step::Maps(e),
            _ => Step::Capabilities(e),
        }
    }

    /// Why cells cannot be isolated, for people.
    pub fn explain(self) -> String {
        match self {
            Step::Unshare(e) => format!(
                "the kernel refused an unprivileged user namespace ({e}); allow them (sysctl \
                 user.max_user_namespaces > 0, kernel.unprivileged_userns_clone = 1 where it exists, or \
                 the AppArmor restriction lifted) or run as root"
            ),
            Step::Maps(e) => format!("could not map the user's ids in a user namespace ({e})"),
            Step::Capabilities(e) => format!("could not keep the user namespace's capabilities across exec ({e})"),
        }
    }
}

fn write_file(path: &std::ffi::CStr, text: &std::ffi::CStr) -> Result<(), Errno> {
    // SAFETY: open, write and close on a path and buffer we own; no allocation.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(Errno::last());
        }
        let bytes = text.to_bytes();
        let n = libc::write(fd, bytes.as_ptr().cast(), bytes.len());
        let err = Errno::last();
        libc::close(fd);
        if n != bytes.len() as isize {
            return Err(err);
        }
    }
    Ok(())
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// Makes every permitted capability inheritable and ambient, so exec keeps them.
fn ambient_capabilities(last_cap: u32) -> Result<(), Errno> {
    const VERSION_3: u32 = 0x2008_0522;
    let mut header = CapHeader {
        version: VERSION_3,
        pid: 0,
    };
    let mut data = [CapData::default(); 2];
    // SAFETY: capget and capset read and write the header and two data structs we own.
    unsafe {
        if libc::syscall(libc::SYS_capget, &mut header, data.as_mut_ptr()) != 0 {
            return Err(Errno::last());
        }
        for d in &mut data {
            d.inheritable = d.permitted;
        }
        if libc::syscall(libc::SYS_capset, &mut header, data.as_ptr()) != 0 {
            return Err(Errno::last());
        }
        for cap in 0..=last_cap {
            let raised = libc::prctl(
                libc::PR_CAP_AMBIENT,
                libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
                cap as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            );
            // A capability this kernel does not know: the ones below it are raised.
            if raised != 0 && Errno::last() != Errno::EINVAL {
                return Err(Errno::last());
            }
        }
    }
    Ok(())
}

/// Whether cells can be isolated in a user namespace here: a child tries the whole setup and
/// reports where it failed.
pub fn probe() -> Result<(), String> {
    if std::env::var(OFF_ENV).is_ok_and(|v| v == "off" || v == "0") {
        return Err(format!("user namespaces are turned off ({OFF_ENV}=off)"));
    }
    let maps = Maps::of_current_user();
    // SAFETY: the child makes only system calls (see `Maps::enter`) and exits.
    match unsafe { nix::unistd::fork() } {
        Err(e) => Err(format!("cannot fork to try a user namespace: {e}")),
        Ok(nix::unistd::ForkResult::Child) => {
            let code = match maps.enter() {
                Ok(()) => 0,
                Err(step) => step.byte(),
            };
            // SAFETY: _exit is async-signal-safe.
            unsafe { libc::_exit(code) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => match nix::sys::wait::waitpid(child, None) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(()),
            Ok(nix::sys::wait::WaitStatus::Exited(_, b)) => Err(Step::of_byte(b).explain()),
            other => Err(format!("the user namespace probe ended oddly: {other:?}")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_codes_round_trip() {
        for step in [
            Step::Unshare(Errno::EPERM),
            Step::Maps(Errno::EACCES),
            Step::Capabilities(Errno::EINVAL),
        ] {
            let back = Step::of_byte(step.byte());
            assert_eq!(format!("{back:?}"), format!("{step:?}"));
        }
    }
}

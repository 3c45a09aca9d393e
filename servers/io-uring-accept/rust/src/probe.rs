//! `--probe`: whether the workers' accept can work here, and if not, why in one line (lbbench
//! skips the strategy with that line). A kernel can be new enough and still refuse: io_uring
//! disabled by `kernel.io_uring_disabled` (Linux 6.6), or its system calls blocked by a
//! container's seccomp profile. So the probe sets up a ring and accepts one connection as a
//! worker does, on an abstract Unix socket (no port, no file, any network namespace).

use io_uring::{cqueue, IoUring};
use io_uring_accept::ring::{accept_entry, Mode};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener, UnixStream};

const DISABLED: &str = "/proc/sys/kernel/io_uring_disabled";

/// What works, or why not.
pub fn probe(mode: Mode) -> Result<String, String> {
    let mut ring = IoUring::new(4).map_err(|e| {
        let disabled = std::fs::read_to_string(DISABLED).ok();
        setup_refused(e.raw_os_error().unwrap_or(0), disabled.as_deref().map(str::trim))
    })?;
    let name = format!("lbbench-io-uring-probe-{}", std::process::id());
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).map_err(|e| format!("the probe's socket: {e}"))?;
    let listener = UnixListener::bind_addr(&addr).map_err(|e| format!("the probe's socket: {e}"))?;
    // Queued before the accept is submitted, so it completes at once.
    let _client = UnixStream::connect_addr(&addr).map_err(|e| format!("the probe's socket: {e}"))?;
    // SAFETY: the request points at no memory of ours.
    unsafe { ring.submission().push(&accept_entry(listener.as_raw_fd(), mode)) }
        .map_err(|_| "the probe's submission queue is full".to_string())?;
    ring.submit_and_wait(1)
        .map_err(|e| format!("io_uring_enter failed: {e}"))?;
    let cqe = ring
        .completion()
        .next()
        .ok_or("io_uring_enter returned without the accept's completion")?;
    if cqe.result() < 0 {
        return Err(accept_refused(mode, -cqe.result()));
    }
    // SAFETY: a successful accept's result is a new descriptor, ours alone.
    drop(unsafe { OwnedFd::from_raw_fd(cqe.result()) });
    match mode {
        Mode::Multishot if !cqueue::more(cqe.flags()) => Err(
            "io_uring's accept ended after one connection: this kernel does not keep a multishot accept armed \
             (IORING_ACCEPT_MULTISHOT needs Linux 5.19)"
                .into(),
        ),
        Mode::Multishot => Ok("io_uring multishot accept works here".into()),
        Mode::Oneshot => Ok("io_uring accept works here".into()),
    }
}

/// Why `io_uring_setup` failed with `errno`, given `kernel.io_uring_disabled` (None: the
/// kernel has no such setting, before 6.6).
pub fn setup_refused(errno: i32, disabled: Option<&str>) -> String {
    match (errno, disabled) {
        (libc::EPERM, Some("2")) => "io_uring is disabled here (kernel.io_uring_disabled = 2)".into(),
        (libc::EPERM, Some("1")) => "io_uring is disabled here for this user (kernel.io_uring_disabled = 1, \
             and it is not in the group kernel.io_uring_group allows)"
            .into(),
        (libc::EPERM, setting) => format!(
            "io_uring_setup was refused (EPERM) though io_uring is not disabled ({}): a seccomp filter \
             (a container runtime's default profile) blocks it",
            setting.map_or("no kernel.io_uring_disabled".into(), |v| format!(
                "kernel.io_uring_disabled = {v}"
            ))
        ),
        (libc::ENOSYS, _) => "this kernel has no io_uring (io_uring_setup: ENOSYS): built without \
             CONFIG_IO_URING, older than 5.1, or blocked by a seccomp filter"
            .into(),
        (libc::ENOMEM, _) => "io_uring_setup: out of memory (ENOMEM); before Linux 5.12 a ring counts \
             against the locked-memory limit (ulimit -l)"
            .into(),
        (e, _) => format!("io_uring_setup failed: {}", io::Error::from_raw_os_error(e)),
    }
}

/// Why the probe's accept failed with `errno`.
fn accept_refused(mode: Mode, errno: i32) -> String {
    match (mode, errno) {
        (Mode::Multishot, libc::EINVAL) => {
            "io_uring refused a multishot accept (EINVAL): IORING_ACCEPT_MULTISHOT needs Linux 5.19".into()
        }
        (_, libc::EINVAL) => "io_uring refused an accept (EINVAL): IORING_OP_ACCEPT needs Linux 5.5".into(),
        (_, e) => format!("io_uring's accept failed: {}", io::Error::from_raw_os_error(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_refusal_says_why() {
        assert_eq!(
            setup_refused(libc::EPERM, Some("2")),
            "io_uring is disabled here (kernel.io_uring_disabled = 2)"
        );
        assert!(setup_refused(libc::EPERM, Some("1")).contains("kernel.io_uring_group"));
        let seccomp = setup_refused(libc::EPERM, Some("0"));
        assert!(seccomp.contains("seccomp") && seccomp.contains("= 0"), "{seccomp}");
        assert!(setup_refused(libc::EPERM, None).contains("no kernel.io_uring_disabled"));
        assert!(setup_refused(libc::ENOSYS, None).starts_with("this kernel has no io_uring"));
        assert!(setup_refused(libc::ENOMEM, None).contains("ulimit -l"));
        assert!(setup_refused(libc::EMFILE, None).starts_with("io_uring_setup failed: "));
        assert!(accept_refused(Mode::Multishot, libc::EINVAL).contains("5.19"));
        // Every reason is one line: lbbench shows the first.
        for e in [libc::EPERM, libc::ENOSYS, libc::ENOMEM, libc::EMFILE] {
            assert!(!setup_refused(e, Some("0")).contains('\n'));
        }
    }
}

//! A forked child keeps only the descriptors it is given. Its own test binary: a fork copies every
//! descriptor the process holds at that instant, including sockets of tests running beside it.

use std::os::fd::AsRawFd;

#[test]
fn a_forked_child_keeps_only_what_it_is_given() {
    let kept = std::fs::File::open("/proc/self/stat").unwrap();
    let other = std::fs::File::open("/proc/self/stat").unwrap();
    let (k, o) = (kept.as_raw_fd(), other.as_raw_fd());
    let pid = lbproc::fork_child(&[k], move || {
        // SAFETY: F_GETFD only reads the descriptor's flags.
        let open = |fd| unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0;
        std::process::exit(if open(k) && !open(o) { 0 } else { 7 });
    })
    .unwrap();
    let status = nix::sys::wait::waitpid(pid, None).unwrap();
    assert_eq!(status, nix::sys::wait::WaitStatus::Exited(pid, 0));
}

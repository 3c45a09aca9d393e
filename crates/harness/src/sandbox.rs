//! Per-cell isolation. Each cell process gets a fresh network namespace (its own loopback, ports,
//! TIME_WAIT and iptables rules) and a fresh PID namespace for its children: the cell is that
//! namespace's init, so when it dies the kernel kills every process of the strategy, whoever
//! forked it. Both namespaces vanish with their last process. As root they are made directly;
//! without root inside an unprivileged user namespace of the cell's own (see `userns`), where
//! the kernel allows one. Where it does not, cells run on the host's loopback and the cell's
//! guard (see `guard`) is what stops every process of the strategy.

use crate::manifest::Launch;
use crate::sysctl;
use crate::userns;
use anyhow::{Context, Result};
use model::machine::Isolation;
use nix::sched::{unshare, CloneFlags};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, getpid, ForkResult, Pid};
use std::ops::RangeInclusive;
use std::os::unix::process::CommandExt;
use std::process::Command;

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// How cells are isolated here: root, else a user namespace if the kernel allows one, else
/// none (with the reason).
pub fn isolation() -> Isolation {
    if is_root() {
        return Isolation::Root;
    }
    match userns::probe() {
        Ok(()) => Isolation::UserNamespace,
        Err(why) => Isolation::None(why),
    }
}

/// Makes `cmd`'s process the init (PID 1) of fresh network and PID namespaces when `isolate`
/// (inside a user namespace when not root): when it dies, the kernel kills everything it
/// started; it dies with the calling thread. Without `isolate` it gets SIGTERM when the calling
/// thread dies instead, so that it can stop what it started (see `guard`).
pub fn confine(cmd: &mut Command, isolate: bool) {
    let parent = getpid();
    let user = (isolate && !is_root()).then(userns::Maps::of_current_user);
    // SAFETY: the closure runs between fork and exec and only makes async-signal-safe system calls.
    unsafe {
        cmd.pre_exec(move || {
            // The cell is lbbench itself: it blocks what it means to block.
            lbproc::reset_signals()?;
            if !isolate {
                return lbproc::signal_at_parent_death(parent, libc::SIGTERM);
            }
            match &user {
                // Credentials change here, which clears the parent-death signal: set it after.
                Some(maps) => maps.enter().map_err(|step| std::io::Error::from(step.errno()))?,
                None => unshare(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWPID)?,
            }
            lbproc::die_with_parent(parent)?;
            // unshare(CLONE_NEWPID) moves only our future children, and a process whose children
            // live in another PID namespace may not create threads. So fork once more: the
            // child is PID 1 of the new namespace and goes on to exec; we stay as its waiter.
            let me = getpid();
            match fork()? {
                ForkResult::Child => lbproc::die_with_parent(me)?,
                ForkResult::Parent { child } => relay_exit(child),
            }
            Ok(())
        });
    }
}

/// The waiter's whole life: close everything but stdio (std's exec-error pipe among them, or the
/// spawner would wait for it forever), wait for the namespace's init, exit as it did.
fn relay_exit(child: Pid) -> ! {
    // SAFETY: close_range, waitpid and _exit are async-signal-safe system calls.
    unsafe {
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        loop {
            match waitpid(child, None) {
                Ok(WaitStatus::Exited(_, code)) => libc::_exit(code),
                Ok(WaitStatus::Signaled(_, sig, _)) => libc::_exit(128 + sig as i32),
                Err(nix::errno::Errno::EINTR) | Ok(_) => continue,
                Err(_) => libc::_exit(1),
            }
        }
    }
}

/// Set for strategies running in a private network namespace: that namespace's id.
pub const NETNS_ENV: &str = "LBBENCH_NETNS";

/// Readies `launch` to start where the cell runs: in its private network namespace ([`enter`])
/// when it has one, with `ports` the strategy's, or on the host, where nothing may change the
/// host's settings.
pub fn prepare(launch: &mut Launch, private: Option<RangeInclusive<u16>>) -> Result<()> {
    if let Some(ports) = private {
        return enter(launch, ports);
    }
    if let Some((key, _)) = launch.sysctls.first() {
        anyhow::bail!(
            "refusing to set {key} outside a private network namespace (run lbbench as root, or where the \
             kernel allows unprivileged user namespaces)"
        );
    }
    Ok(())
}

/// Inside a fresh network namespace (a child made by [`confine`]): prepares it for a strategy
/// listening on `ports`, with its own sysctls, and vouches to the strategy `launch` starts that
/// it is private (iptables-lb insists on it).
pub fn enter(launch: &mut Launch, ports: RangeInclusive<u16>) -> Result<()> {
    prepare_network(ports)?;
    sysctl::apply(&launch.sysctls).context("applying the strategy's sysctls")?;
    let netns = std::fs::read_link("/proc/self/ns/net").context("reading the private network namespace")?;
    launch.env.push((NETNS_ENV.into(), netns.display().to_string()));
    Ok(())
}

/// Inside a fresh network namespace: loopback up, and room for connection-per-request load. The
/// strategy's `ports` are kept out of that room: while a fronted worker is dead, an outgoing
/// connection (the client's, or the front's to another worker, which nginx then keeps open)
/// could take its port as its own end, and its replacement could not bind the port again.
fn prepare_network(ports: RangeInclusive<u16>) -> Result<()> {
    loopback_up().context("bringing up loopback in the cell's network namespace")?;
    sysctl::apply(&[
        ("net.ipv4.ip_local_port_range".into(), "1024 65535".into()),
        (
            "net.ipv4.ip_local_reserved_ports".into(),
            format!("{}-{}", ports.start(), ports.end()),
        ),
        ("net.ipv4.tcp_tw_reuse".into(), "1".into()),
    ])
}

fn loopback_up() -> Result<()> {
    let sock = nix::sys::socket::socket(
        nix::sys::socket::AddressFamily::Inet,
        nix::sys::socket::SockType::Datagram,
        nix::sys::socket::SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    // SAFETY: ifreq is plain data; the ioctls read and write only the struct we pass.
    unsafe {
        let mut req: libc::ifreq = std::mem::zeroed();
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        let fd = std::os::fd::AsRawFd::as_raw_fd(&sock);
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(std::io::Error::last_os_error().into());
        }
    }
    Ok(())
}

//! EPOLLEXCLUSIVE for a listening socket the worker processes share: one idle worker is woken
//! per connection instead of all of them.
//!
//! The kernel honours the flag only for an epoll instance a thread is blocked on: when a
//! connection arrives it walks the listener's exclusive waiters in the order they were added,
//! queueing the event on each instance, and stops at the first one with a thread in
//! `epoll_wait`. A private instance nested inside the runtime's never has such a thread, so
//! every worker would still be woken (measured: both workers of two woke for every connection).
//! So the listener must be exclusive in the very instance the worker sleeps on, the runtime's:
//! tokio registers it there (edge-triggered, with its own token in the event's data), and
//! [`make_exclusive`] adds that registration again with the flag — same descriptor, same token,
//! so tokio dispatches its readiness as before. The registration is found, token and all, in
//! the instance's `/proc/self/fdinfo`.

use anyhow::{bail, Context, Result};
use std::os::fd::RawFd;

/// `EPOLLEXCLUSIVE` (Linux 4.5), as the kernel's `events:` masks in fdinfo show it.
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;

/// One descriptor an epoll instance watches, as a line of its fdinfo shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watched {
    /// The descriptor number it was added under (in the process that added it).
    pub fd: RawFd,
    pub events: u32,
    pub data: u64,
    /// Inode of the watched file (a socket's inode, as in /proc/net/tcp).
    pub ino: u64,
}

/// The descriptors an epoll instance watches, from its fdinfo text
/// (`tfd: 3 events: 19 data: 3  pos:0 ino:7e sdev:9`; numbers after `events`, `data` and `ino`
/// are hexadecimal).
pub fn parse_fdinfo(text: &str) -> Vec<Watched> {
    text.lines().filter_map(parse_tfd_line).collect()
}

fn parse_tfd_line(line: &str) -> Option<Watched> {
    // Words are `key: value` or `key:value`.
    let mut fields: Vec<(&str, &str)> = Vec::new();
    let mut words = line.split_whitespace();
    while let Some(word) = words.next() {
        match word.split_once(':')? {
            (key, "") => fields.push((key, words.next()?)),
            pair => fields.push(pair),
        }
    }
    if fields.first()?.0 != "tfd" {
        return None;
    }
    let get = |k: &str| fields.iter().find(|(f, _)| *f == k).map(|(_, v)| *v);
    let hex = |k: &str| get(k).and_then(|v| u64::from_str_radix(v, 16).ok());
    Some(Watched {
        fd: get("tfd")?.parse().ok()?,
        events: u32::try_from(hex("events")?).ok()?,
        data: hex("data")?,
        ino: hex("ino")?,
    })
}

/// Every epoll instance of process `pid` (a number, or "self"): its descriptor and what it watches.
pub fn epoll_instances(pid: &str) -> std::io::Result<Vec<(RawFd, Vec<Watched>)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))? {
        let entry = entry?;
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse::<RawFd>().ok()) else {
            continue;
        };
        let is_epoll = std::fs::read_link(entry.path()).is_ok_and(|t| t.as_os_str() == "anon_inode:[eventpoll]");
        if is_epoll {
            // An instance closed since the listing is no longer ours to report.
            if let Ok(info) = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")) {
                found.push((fd, parse_fdinfo(&info)));
            }
        }
    }
    found.sort_by_key(|(fd, _)| *fd);
    Ok(found)
}

/// Adds `listener` again, with EPOLLEXCLUSIVE, to the one epoll instance of this process that
/// watches it (the runtime's), keeping its token. Call on the runtime's thread, after the
/// runtime registered it and before anything waits on it.
pub fn make_exclusive(listener: RawFd) -> Result<()> {
    let ino = inode(listener)?;
    let instances = epoll_instances("self").context("reading this process's epoll instances")?;
    let mut holders: Vec<(RawFd, Watched)> = instances
        .iter()
        .flat_map(|(ep, ws)| ws.iter().map(move |w| (*ep, *w)))
        .filter(|(_, w)| w.fd == listener && w.ino == ino)
        .collect();
    // mio keeps a duplicate of its epoll descriptor: one instance, and one registration (one
    // token), seen through two descriptors.
    holders.dedup_by_key(|(_, w)| *w);
    let [(epoll, watched)] = holders[..] else {
        bail!(
            "expected the runtime's epoll instance, and only it, to watch the listener (fd {listener}); \
             found {} instances watching it: has tokio changed how it registers sockets?",
            holders.len()
        );
    };
    // The kernel refuses EPOLLEXCLUSIVE in EPOLL_CTL_MOD and beside EPOLLRDHUP (meaningless on a
    // listener anyway): delete, then add what it allows.
    let allowed = (libc::EPOLLIN | libc::EPOLLOUT | libc::EPOLLET) as u32;
    if watched.events & libc::EPOLLIN as u32 == 0 {
        bail!(
            "the runtime watches the listener without EPOLLIN (events {:#x})",
            watched.events
        );
    }
    let mut event = libc::epoll_event {
        events: (watched.events & allowed) | EPOLLEXCLUSIVE,
        u64: watched.data,
    };
    // SAFETY: `epoll` is the runtime's instance, open for as long as the runtime (we run on it,
    // so its driver is not polling meanwhile); the event is plain data we own.
    unsafe {
        if libc::epoll_ctl(epoll, libc::EPOLL_CTL_DEL, listener, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error()).context("EPOLL_CTL_DEL of the listener");
        }
        if libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, listener, &mut event) != 0 {
            return Err(std::io::Error::last_os_error())
                .context("adding the listener with EPOLLEXCLUSIVE (Linux 4.5 or later)");
        }
    }
    Ok(())
}

fn inode(fd: RawFd) -> Result<u64> {
    // SAFETY: fstat writes only into the stat buffer we pass.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 {
        return Err(std::io::Error::last_os_error()).context("fstat of the listener");
    }
    Ok(st.st_ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdinfo_lines_are_read_in_hexadecimal() {
        let text = "pos:\t0\nflags:\t02000002\nmnt_id:\t17\nino:\t1038\n\
                    tfd:        3 events: 90000019 data:                3  pos:0 ino:7c04d sdev:9\n\
                    tfd:       10 events:    2019 data:     7f3a2c001a80  pos:0 ino:7c052 sdev:9\n";
        assert_eq!(
            parse_fdinfo(text),
            [
                Watched {
                    fd: 3,
                    events: 0x9000_0019,
                    data: 3,
                    ino: 0x7c04d
                },
                Watched {
                    fd: 10,
                    events: 0x2019,
                    data: 0x7f3a_2c00_1a80,
                    ino: 0x7c052
                },
            ]
        );
        assert_eq!(parse_fdinfo("pos:\t0\nflags:\t02\n"), []);
    }

    #[test]
    fn the_runtime_instance_gets_the_flag_and_keeps_the_token() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let std = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            std.set_nonblocking(true).unwrap();
            let listener = tokio::net::TcpListener::from_std(std).unwrap();
            let fd = std::os::fd::AsRawFd::as_raw_fd(&listener);
            let before = watched(fd);
            assert_eq!(before.events & EPOLLEXCLUSIVE, 0);
            make_exclusive(fd).unwrap();
            let after = watched(fd);
            assert_ne!(after.events & EPOLLEXCLUSIVE, 0, "{after:?}");
            assert_eq!(after.data, before.data, "tokio's token must survive");
            // Still tokio's: an accept through it completes.
            let addr = listener.local_addr().unwrap();
            let (accepted, _client) = tokio::join!(listener.accept(), tokio::net::TcpStream::connect(addr));
            accepted.unwrap();
        });
    }

    fn watched(fd: RawFd) -> Watched {
        let all: Vec<Watched> = epoll_instances("self")
            .unwrap()
            .into_iter()
            .flat_map(|(_, ws)| ws)
            .filter(|w| w.fd == fd && w.ino == inode(fd).unwrap())
            .collect();
        // Seen through each of the runtime's descriptors of its one instance.
        assert!(!all.is_empty() && all.iter().all(|w| *w == all[0]), "{all:?}");
        all[0]
    }
}

//! A worker fed over a descriptor channel (cluster-rr's) serves every connection its master
//! handed it, even those still queued in the channel when it is told to go: a reload under load
//! must not drop a request a client already sent. Its own test binary: the worker is a forked
//! process (it takes SIGTERM), and a fork copies every descriptor of tests running beside it.

use lbproc::fdpass::{channel, send_fd};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// Connections handed over while the worker cannot read them.
const QUEUED: usize = 8;

#[test]
fn a_stopping_worker_serves_the_connections_queued_in_its_channel() {
    // How the worker is told: its master closes the channel (a reload's successor took its
    // place), or SIGTERM with the channel still open.
    for by_signal in [false, true] {
        let (mine, theirs) = channel().unwrap();
        let t = hello::Timeouts {
            idle: Duration::from_secs(20),
            header: Duration::from_secs(20),
        };
        let pid = lbproc::fork_child(&[theirs.as_raw_fd()], move || {
            hello::worker::serve_channel(theirs, 3, t)
        })
        .unwrap();
        wait_announced(pid, "lbbench-w3");
        // Stopped, so every descriptor below is still in the channel when the worker hears.
        kill(pid, Signal::SIGSTOP).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let clients: Vec<TcpStream> = (0..QUEUED)
            .map(|_| {
                let mut c = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
                c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
                c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                let (accepted, _) = listener.accept().unwrap();
                send_fd(&mine, accepted.as_raw_fd()).unwrap();
                c
            })
            .collect();
        if by_signal {
            kill(pid, Signal::SIGTERM).unwrap();
        } else {
            drop(mine);
        }
        kill(pid, Signal::SIGCONT).unwrap();
        for (k, mut c) in clients.into_iter().enumerate() {
            let mut answer = String::new();
            let _ = c.read_to_string(&mut answer);
            let how = if by_signal { "SIGTERM" } else { "its channel closed" };
            assert!(
                answer.starts_with("HTTP/1.1 200 OK\r\n") && answer.contains("X-Worker: 3\r\n"),
                "connection {k} of {QUEUED}, queued when the worker was told to stop ({how}), got {answer:?}"
            );
        }
        assert_eq!(waitpid(pid, None).unwrap(), WaitStatus::Exited(pid, 0));
    }
}

/// Waits (up to a minute: a deadline no working worker nears) until `pid` names itself `comm`.
fn wait_announced(pid: Pid, comm: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let path = format!("/proc/{pid}/comm");
    while std::fs::read_to_string(&path).unwrap_or_default().trim() != comm {
        assert!(
            Instant::now() < deadline,
            "worker {pid} never announced itself as {comm}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

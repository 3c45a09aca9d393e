//! Helpers for tests that start a strategy binary for real and look at who answers.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free port on loopback right now (the next 4 are free too, for strategies that need them).
pub fn free_port() -> u16 {
    crate::pool::free_block(4).expect("a free block of ports")
}

/// One raw HTTP exchange on a fresh connection; returns the whole response text.
pub fn get_close(port: u16) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

/// The `X-Worker` value of a response.
pub fn worker_of(response: &str) -> Option<String> {
    response
        .lines()
        .find_map(|l| l.strip_prefix("X-Worker: "))
        .map(|w| w.trim().to_string())
}

/// A strategy process killed (with its workers, via SIGTERM) when dropped.
pub struct Running {
    pub child: Child,
    pub port: u16,
}

impl Running {
    /// Starts `bin --workers N --port P` plus `extra` and waits until it answers.
    pub fn start(bin: &str, workers: usize, extra: &[&str]) -> Running {
        let port = crate::pool::free_block(workers).expect("a free block of ports");
        let child = Command::new(bin)
            .args(["--workers", &workers.to_string(), "--port", &port.to_string()])
            .args(extra)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let running = Running { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while get_close(port).map(|r| !r.contains("Hello World")).unwrap_or(true) {
            assert!(
                Instant::now() < deadline,
                "{bin} did not answer on port {port} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        running
    }

    /// Worker ids seen over `n` concurrent connection-per-request exchanges.
    pub fn workers_seen(&self, n: usize) -> Vec<String> {
        let port = self.port;
        let threads: Vec<_> = (0..8)
            .map(|_| std::thread::spawn(move || (0..n / 8).filter_map(|_| get_close(port).ok()).collect::<Vec<_>>()))
            .collect();
        let mut seen: Vec<String> = Vec::new();
        for t in threads {
            for r in t.join().expect("client thread") {
                assert!(
                    r.starts_with("HTTP/1.1 200 OK") && r.ends_with("Hello World"),
                    "bad response {r:?}"
                );
                let w = worker_of(&r).expect("an X-Worker header");
                if !seen.contains(&w) {
                    seen.push(w);
                }
            }
        }
        seen.sort();
        seen
    }

    /// SIGTERM, then waits; returns whether it exited within `within`.
    pub fn terminate(&mut self, within: Duration) -> bool {
        // SAFETY: kill only sends a signal.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.terminate(Duration::from_secs(3)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// PIDs of live (non-zombie) processes whose parent is `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut kids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // Fields after the parenthesised command name: state, ppid, ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let (state, ppid) = (f.next(), f.next().and_then(|p| p.parse::<u32>().ok()));
        if ppid == Some(pid) && state != Some("Z") {
            kids.extend(entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()));
        }
    }
    kids
}

/// The process is gone, or a zombie awaiting its reaper.
pub fn gone(pid: &u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.contains(") Z "))
        .unwrap_or(true)
}

/// The children of `pid` once there are `n` (or whatever there are after 5 s): the first worker
/// may answer before the master has forked the last one.
fn await_children(pid: u32, n: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut kids = children_of(pid);
    while kids.len() < n && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
        kids = children_of(pid);
    }
    kids
}

/// A strategy's contract: with 2 workers, both answer; SIGTERM stops the master and its
/// `children` processes (2 workers, plus any proxy processes).
pub fn check_two_workers_answer_and_stop(bin: &str, extra: &[&str], children: usize) {
    let mut server = Running::start(bin, 2, extra);
    let kids = await_children(server.child.id(), children);
    assert_eq!(
        kids.len(),
        children,
        "expected {children} child processes, found {kids:?}"
    );
    assert_eq!(server.workers_seen(400), ["0", "1"]);
    assert!(
        server.terminate(Duration::from_secs(5)),
        "did not stop within 5 s of SIGTERM"
    );
    assert!(kids.iter().all(gone), "children {kids:?} outlived their master");
}

/// A strategy's contract: its workers die with the master even when the master is SIGKILLed.
pub fn check_workers_die_with_master(bin: &str, extra: &[&str]) {
    let mut server = Running::start(bin, 2, extra);
    let workers = await_children(server.child.id(), 2);
    server.child.kill().expect("SIGKILL the master");
    server.child.wait().expect("reap the master");
    let deadline = Instant::now() + Duration::from_secs(5);
    while !workers.iter().all(gone) {
        assert!(
            Instant::now() < deadline,
            "workers {workers:?} outlived a SIGKILLed master"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

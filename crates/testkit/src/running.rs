//! A strategy binary started for real, and the contract every strategy keeps.

use crate::http::{get_close, worker_of};
use crate::procs::{children_of, gone, wait_for};
use nix::unistd::Pid;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A strategy process, stopped (with its workers) when dropped.
pub struct Running {
    pub child: Child,
    pub port: u16,
}

impl Running {
    /// Starts `bin --workers N --port P` plus `extra` and waits until it answers. A port found
    /// free can be taken before the strategy binds it (a test beside this one forks, and the
    /// fork holds every socket until it execs): a strategy that exits at once is retried on
    /// another port.
    pub fn start(bin: &str, workers: usize, extra: &[&str]) -> Running {
        for _ in 0..5 {
            let port = lbproc::ports::free_block(workers).expect("a free block of ports");
            let child = Command::new(bin)
                .args(["--workers", &workers.to_string(), "--port", &port.to_string()])
                .args(extra)
                .stdin(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
            let mut running = Running { child, port };
            let mut exited = false;
            let answered = wait_for(Duration::from_secs(10), || {
                exited = matches!(running.child.try_wait(), Ok(Some(_)));
                exited || get_close(port).is_ok_and(|r| r.contains("Hello World"))
            });
            if exited {
                eprintln!("{bin} exited at once on port {port}; trying another port");
                continue;
            }
            assert!(answered, "{bin} did not answer on port {port} within 10 s");
            return running;
        }
        panic!("{bin} exited at once on five ports in a row (see its errors above)")
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// The worker ids that answer connection-per-request exchanges, 8 at a time, sorted
    /// numerically: exchanges go on until `expected` different ids have answered, or for at most
    /// 20 s and 20,000 exchanges. Which worker takes a connection is up to the kernel and the
    /// scheduler (with EPOLLEXCLUSIVE an idle worker may take one after another), so no fixed
    /// number of exchanges is sure to reach them all; failed exchanges are retried. The 8 client
    /// threads are pinned round-robin to the CPUs this process may use: on loopback a SYN is
    /// received on its sender's CPU, and a strategy that steers by that CPU reaches each of its
    /// workers only from the CPU it serves.
    pub fn workers_answering(&self, expected: usize) -> Vec<String> {
        let port = self.port;
        let deadline = Instant::now() + Duration::from_secs(20);
        let (seen, started) = (Mutex::new(Vec::<String>::new()), AtomicUsize::new(0));
        let more = || {
            seen.lock().unwrap().len() < expected
                && started.fetch_add(1, Ordering::Relaxed) < 20_000
                && Instant::now() < deadline
        };
        let cpus = lbproc::allowed();
        std::thread::scope(|scope| {
            for t in 0..8 {
                let (more, seen, cpu) = (&more, &seen, cpus[t % cpus.len()]);
                scope.spawn(move || {
                    lbproc::pin(&[cpu]).expect("pinning a client thread");
                    while more() {
                        let Ok(r) = get_close(port) else { continue };
                        assert!(
                            r.starts_with("HTTP/1.1 200 OK") && r.ends_with("Hello World"),
                            "bad response {r:?}"
                        );
                        let w = worker_of(&r).expect("an X-Worker header");
                        let mut seen = seen.lock().unwrap();
                        if !seen.contains(&w) {
                            seen.push(w);
                        }
                    }
                });
            }
        });
        let mut seen = seen.into_inner().unwrap();
        seen.sort_by_key(|w| (w.len(), w.clone()));
        seen
    }

    /// SIGTERM; returns whether it exited by itself within `within` (else it is SIGKILLed).
    pub fn terminate(&mut self, within: Duration) -> bool {
        lbproc::stop(&[self.pid()], within, None) == 0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        lbproc::stop(&[self.pid()], Duration::from_secs(3), None);
    }
}

/// The children of `pid` once there are `n` (or whatever there are after 10 s): the first worker
/// may answer before the master has forked the last one.
pub fn await_children(pid: u32, n: usize) -> Vec<u32> {
    let mut kids = children_of(pid);
    wait_for(Duration::from_secs(10), || {
        kids = children_of(pid);
        kids.len() >= n
    });
    kids
}

/// Which of a strategy's workers its answers must come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answering {
    /// Every one: connection-per-request exchanges reach each worker sooner or later.
    Every,
    /// Any: the mechanism may hand every connection to one worker (io_uring's multishot accept
    /// on a shared listener does, by design), so only that each worker announces itself and
    /// that the answers come from the strategy's workers is checked.
    Any,
}

impl Running {
    /// Asserts that the `n` workers answer as `answering` says, all with 200 Hello World.
    pub fn assert_answering(&self, n: usize, answering: Answering) {
        let all: Vec<String> = (0..n).map(|k| k.to_string()).collect();
        match answering {
            Answering::Every => assert_eq!(self.workers_answering(n), all, "every worker must answer"),
            Answering::Any => {
                let named = wait_for(Duration::from_secs(10), || {
                    crate::procs::named_workers(self.child.id(), n)
                        .iter()
                        .all(Option::is_some)
                });
                assert!(named, "not every worker of {n} announced itself");
                let seen = self.workers_answering(1);
                assert!(
                    !seen.is_empty() && seen.iter().all(|w| all.contains(w)),
                    "answered by {seen:?}, not by workers {all:?}"
                );
            }
        }
    }
}

/// A strategy's contract: with 2 workers, both answer; SIGTERM stops the master and its
/// `children` processes (2 workers, plus any proxy processes).
pub fn check_two_workers_answer_and_stop(bin: &str, extra: &[&str], children: usize) {
    check_workers_answer_and_stop(bin, extra, children, Answering::Every);
}

/// [`check_two_workers_answer_and_stop`], with the workers answering as `answering` says.
pub fn check_workers_answer_and_stop(bin: &str, extra: &[&str], children: usize, answering: Answering) {
    let mut server = Running::start(bin, 2, extra);
    let kids = await_children(server.child.id(), children);
    assert_eq!(
        kids.len(),
        children,
        "expected {children} child processes, found {kids:?}"
    );
    server.assert_answering(2, answering);
    assert!(
        server.terminate(Duration::from_secs(10)),
        "did not stop within 10 s of SIGTERM"
    );
    assert!(kids.iter().all(|k| gone(*k)), "children {kids:?} outlived their master");
}

/// A strategy's contract: its workers die with the master even when the master is SIGKILLed.
pub fn check_workers_die_with_master(bin: &str, extra: &[&str]) {
    let mut server = Running::start(bin, 2, extra);
    let workers = await_children(server.child.id(), 2);
    server.child.kill().expect("SIGKILL the master");
    server.child.wait().expect("reap the master");
    let cleared = wait_for(Duration::from_secs(10), || workers.iter().all(|w| gone(*w)));
    assert!(cleared, "workers {workers:?} outlived a SIGKILLed master");
}

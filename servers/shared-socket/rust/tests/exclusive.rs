//! `--exclusive`: every worker has the shared listener in the epoll instance it sleeps on, with
//! EPOLLEXCLUSIVE, so a connection wakes one idle worker; without it, every waiting worker wakes.

use hello::exclusive::{epoll_instances, Watched, EPOLLEXCLUSIVE};
use std::time::{Duration, Instant};
use testkit::{get_close, wait_for, worker_of, Running};

const BIN: &str = env!("CARGO_BIN_EXE_shared-socket");

testkit::strategy_contract!(BIN, &["--exclusive"], 2);

/// The pids of workers 0 and 1 of `server`, once both have announced that they serve.
fn announced_workers(server: &Running) -> Vec<u32> {
    let mut workers = Vec::new();
    let named = wait_for(Duration::from_secs(10), || {
        workers = ["lbbench-w0", "lbbench-w1"]
            .iter()
            .filter_map(|name| {
                testkit::children_of(server.child.id())
                    .into_iter()
                    .find(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == *name))
            })
            .collect();
        workers.len() == 2
    });
    assert!(named, "the two workers never announced themselves: {workers:?}");
    workers
}

/// The inode of the socket listening on `port` (from /proc/net/tcp: local address, state 0A).
fn listening_inode(port: u16) -> u64 {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let local = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|f| f[1].ends_with(&local) && f[3] == "0A")
        .map(|f| f[9].parse().unwrap())
        .unwrap_or_else(|| panic!("no socket listens on port {port}"))
}

/// How worker `pid`'s epoll instances watch the socket of inode `ino` (one registration each).
fn registrations(pid: u32, ino: u64) -> Vec<Watched> {
    let mut found: Vec<Watched> = epoll_instances(&pid.to_string())
        .unwrap()
        .into_iter()
        .flat_map(|(_, watched)| watched)
        .filter(|w| w.ino == ino)
        .collect();
    // One instance may be open under two descriptors (mio keeps a duplicate).
    found.dedup();
    found
}

#[test]
fn exclusive_workers_watch_the_listener_with_epollexclusive() {
    for (extra, exclusive) in [(&["--exclusive"][..], true), (&[][..], false)] {
        let server = Running::start(BIN, 2, extra);
        let ino = listening_inode(server.port);
        for pid in announced_workers(&server) {
            let regs = registrations(pid, ino);
            assert_eq!(regs.len(), 1, "worker {pid}: {regs:?}");
            assert_eq!(
                regs[0].events & EPOLLEXCLUSIVE != 0,
                exclusive,
                "{extra:?}: worker {pid} registered the listener as {:#x}",
                regs[0].events
            );
        }
    }
}

/// (state, voluntary context switches) of worker `pid`'s runtime thread, the one that sleeps in
/// epoll_wait (a forked worker starts with that thread only, so its tid is the pid). The count
/// goes up each time the thread blocks: a change between two readings means it was woken and
/// ran in between.
fn sleep_state(pid: u32) -> (char, u64) {
    let task = format!("/proc/{pid}/task/{pid}");
    let stat = std::fs::read_to_string(format!("{task}/stat")).unwrap();
    let state = stat.rsplit_once(')').unwrap().1.trim_start().chars().next().unwrap();
    let status = std::fs::read_to_string(format!("{task}/status")).unwrap();
    let switches = status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .map(|n| n.trim().parse::<u64>().unwrap())
        .unwrap();
    (state, switches)
}

/// Waits until every worker of `pids` is asleep: blocked ('S'), with a switch count that stays
/// the same over two readings 5 ms apart, so no wake-up is pending or being handled. Returns
/// the counts.
fn all_asleep(pids: &[u32]) -> Vec<u64> {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last: Option<Vec<u64>> = None;
    loop {
        let now: Option<Vec<u64>> = pids
            .iter()
            .map(|&p| match sleep_state(p) {
                ('S', switches) => Some(switches),
                _ => None,
            })
            .collect();
        match now {
            Some(counts) if last.as_ref() == Some(&counts) => return counts,
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "workers {pids:?} never all slept for 5 ms in 10 s"
        );
        last = now;
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// What `n` connections made one at a time did to the two workers.
#[derive(Debug)]
struct Wakeups {
    /// Connections each worker served.
    served: [usize; 2],
    /// Connections for which each worker was woken.
    woken: [usize; 2],
    n: usize,
}

impl Wakeups {
    /// Workers woken per connection, on average: 1 when only the worker that accepts is, 2 when
    /// both are (and one finds nothing to accept).
    fn mean(&self) -> f64 {
        (self.woken[0] + self.woken[1]) as f64 / self.n as f64
    }
}

/// Connections one at a time, each made with both workers asleep and counted once both sleep
/// again: then whichever was woken in between was woken by that connection. How long that
/// takes, or how often a worker sleeps again while serving, does not matter, so this holds on a
/// busy machine.
fn one_at_a_time(extra: &[&str], n: usize) -> Wakeups {
    let server = Running::start(BIN, 2, extra);
    let workers = announced_workers(&server);
    let mut w = Wakeups {
        served: [0; 2],
        woken: [0; 2],
        n,
    };
    let mut before = all_asleep(&workers);
    for _ in 0..n {
        let r = get_close(server.port).unwrap();
        let server_id = worker_of(&r).unwrap().parse::<usize>().unwrap();
        w.served[server_id] += 1;
        let after = all_asleep(&workers);
        for i in 0..2 {
            w.woken[i] += usize::from(after[i] != before[i]);
        }
        assert_ne!(
            after[server_id], before[server_id],
            "{extra:?}: worker {server_id} served without waking, so this measure is broken"
        );
        before = after;
    }
    w
}

/// With the flag a connection wakes the one worker that accepts it; without it, both.
#[test]
fn a_connection_wakes_one_idle_worker_not_all() {
    let n = 100;
    let exclusive = one_at_a_time(&["--exclusive"], n);
    let all = one_at_a_time(&[], n);
    eprintln!(
        "workers woken per connection: {:.2} with --exclusive {exclusive:?}, {:.2} without {all:?}",
        exclusive.mean(),
        all.mean()
    );
    assert!(exclusive.mean() <= 1.3, "--exclusive: {exclusive:?}");
    // The measure tells the two apart.
    assert!(all.mean() >= 1.7, "without --exclusive: {all:?}");
}

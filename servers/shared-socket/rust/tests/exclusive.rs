//! `--exclusive`: every worker has the shared listener in the epoll instance it sleeps on, with
//! EPOLLEXCLUSIVE, so a connection wakes one idle worker; without it, every waiting worker wakes.

use hello::exclusive::{epoll_instances, Watched, EPOLLEXCLUSIVE};
use std::time::Duration;
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

/// Voluntary context switches of every thread of `pid`: one per time it slept and was woken.
fn wakeups(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .map(|t| {
            let status = std::fs::read_to_string(t.path().join("status")).unwrap();
            status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .map(|n| n.trim().parse::<u64>().unwrap())
                .unwrap()
        })
        .sum()
}

/// Connections one at a time (each closed before the next), with a pause for the workers to go
/// back to waiting; returns, per worker, (connections served, times woken).
fn one_at_a_time(extra: &[&str], n: usize) -> Vec<(usize, u64)> {
    let server = Running::start(BIN, 2, extra);
    let workers = announced_workers(&server);
    std::thread::sleep(Duration::from_millis(200));
    let before: Vec<u64> = workers.iter().map(|&p| wakeups(p)).collect();
    let mut served = [0usize; 2];
    for _ in 0..n {
        let r = get_close(server.port).unwrap();
        served[worker_of(&r).unwrap().parse::<usize>().unwrap()] += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    let after: Vec<u64> = workers.iter().map(|&p| wakeups(p)).collect();
    (0..2).map(|i| (served[i], after[i] - before[i])).collect()
}

/// Per connection, the worker that serves it wakes once or twice (to accept, and again if the
/// request arrives after its first read); with every waiting worker woken, each also wakes
/// once. Half way between: 1.5 wake-ups per connection.
#[test]
fn a_connection_wakes_one_idle_worker_not_all() {
    let n = 100;
    let total = |per_worker: &[(usize, u64)]| per_worker.iter().map(|(_, w)| w).sum::<u64>();
    let exclusive = one_at_a_time(&["--exclusive"], n);
    assert!(
        total(&exclusive) * 2 < 3 * n as u64,
        "--exclusive: (served, woken) per worker {exclusive:?} over {n} connections"
    );
    // The measure tells the two apart: without the flag, both workers wake for each connection.
    let all = one_at_a_time(&[], n);
    assert!(
        total(&all) * 2 > 3 * n as u64,
        "without --exclusive: (served, woken) per worker {all:?} over {n} connections"
    );
}

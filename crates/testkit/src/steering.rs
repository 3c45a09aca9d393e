//! Which worker new connections reach, for strategies that choose it: counted over connections
//! made one after another, optionally from a client pinned to one CPU.

use crate::{get_close, worker_of};

/// Runs `f` on a thread of its own pinned to `cpu`. On loopback the kernel receives a SYN on the
/// CPU that sent it, so that is the CPU a strategy keyed on the receiving CPU sees.
pub fn on_cpu<T: Send>(cpu: usize, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                lbproc::pin(&[cpu]).unwrap_or_else(|e| panic!("pinning a client thread to CPU {cpu}: {e:#}"));
                f()
            })
            .join()
            .expect("the pinned client thread")
    })
}

/// The worker (`X-Worker`) that answers each of `n` new connections to `port`, made one after
/// another, each closed before the next opens.
pub fn workers_of_new_connections(port: u16, n: usize) -> Vec<usize> {
    (0..n)
        .map(|i| {
            let r = get_close(port).unwrap_or_else(|e| panic!("connection {i} of {n}: {e}"));
            assert!(r.starts_with("HTTP/1.1 200 OK"), "connection {i}: {r:?}");
            worker_of(&r)
                .and_then(|w| w.parse().ok())
                .unwrap_or_else(|| panic!("connection {i}: no X-Worker in {r:?}"))
        })
        .collect()
}

/// How many of `workers` went to each worker index below `n`.
pub fn counts(workers: &[usize], n: usize) -> Vec<usize> {
    let mut c = vec![0; n];
    for &w in workers {
        assert!(w < n, "worker {w} answered; there are {n}");
        c[w] += 1;
    }
    c
}

/// The first two CPUs this process may use, if it may use two.
pub fn two_cpus() -> Option<[usize; 2]> {
    match lbproc::allowed().as_slice() {
        [a, b, ..] => Some([*a, *b]),
        _ => None,
    }
}

/// The CPUs `pid` may run on, as /proc shows them ("3", "0-1").
pub fn cpus_allowed(pid: u32) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|c| c.trim().to_string())
        .unwrap_or_default()
}

/// The check of a strategy that sends a SYN to a worker pinned to the CPU that received it,
/// worker k on `--cpus`[k % len]: with 3 workers on two CPUs a and b (0 and 2 on a, 1 on b), new
/// connections from a client pinned to a reach workers 0 and 2 only (both, at random or by hash),
/// from b worker 1 only; the same once worker 0 and then worker 1 were killed and replaced, and
/// once SIGHUP replaced every worker. Needs two CPUs.
pub fn check_cpu_steering(bin: &str, extra: &[&str]) {
    let [a, b] = two_cpus().expect("two CPUs");
    let cpus = format!("{a},{b}");
    let args: Vec<&str> = extra.iter().copied().chain(["--cpus", &cpus]).collect();
    let server = crate::Running::start(bin, 3, &args);
    let master = server.child.id();
    let check = |when: &str| {
        let pids = all_named(master, 3);
        // Replaced workers' sockets have left the group, whoever held a copy.
        assert_eq!(
            listening_sockets(server.port),
            3,
            "{when}: sockets listening on the port"
        );
        for (k, pid) in pids.iter().enumerate() {
            let cpu = [a, b][k % 2];
            assert_eq!(
                cpus_allowed(*pid),
                cpu.to_string(),
                "{when}: worker {k} is not pinned to CPU {cpu}"
            );
        }
        for (cpu, expected) in [(a, vec![0, 2]), (b, vec![1])] {
            let mut got = on_cpu(cpu, || workers_of_new_connections(server.port, 40));
            got.sort_unstable();
            got.dedup();
            assert_eq!(got, expected, "{when}: workers reached from CPU {cpu}");
        }
        pids
    };
    let mut pids = check("at start");
    for k in [0, 1] {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pids[k] as i32), nix::sys::signal::SIGKILL).unwrap();
        let old = pids[k];
        let replaced = crate::wait_for(std::time::Duration::from_secs(20), || {
            crate::procs::named_workers(master, 3)[k].is_some_and(|p| p != old) && crate::gone(old)
        });
        assert!(replaced, "worker {k} ({old}) was not replaced");
        pids = check(&format!("after worker {k} was replaced"));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(master as i32), nix::sys::signal::SIGHUP).unwrap();
    let before = pids;
    let reloaded = crate::wait_for(std::time::Duration::from_secs(30), || {
        let now = crate::procs::named_workers(master, 3);
        now.iter().zip(&before).all(|(n, b)| n.is_some_and(|n| n != *b)) && before.iter().all(|b| crate::gone(*b))
    });
    assert!(reloaded, "SIGHUP did not replace workers {before:?}");
    check("after SIGHUP replaced every worker");
}

/// The pids of workers 0..n below `master` once all have named themselves (within 20 s).
pub fn all_named(master: u32, n: usize) -> Vec<u32> {
    let mut pids = Vec::new();
    let named = crate::wait_for(std::time::Duration::from_secs(20), || {
        pids = crate::procs::named_workers(master, n).into_iter().flatten().collect();
        pids.len() == n
    });
    assert!(named, "not every one of {n} workers named itself: {pids:?}");
    pids
}

/// How many sockets listen on `port` of this network namespace (IPv4, from /proc/net/tcp).
pub fn listening_sockets(port: u16) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
    let local = format!(":{port:04X}");
    table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() > 3 && f[1].ends_with(&local) && f[3] == "0A")
        .count()
}

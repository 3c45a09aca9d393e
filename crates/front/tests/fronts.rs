//! nginx-reuseport and haproxy-shards for real, started from their manifests' start commands
//! (the variants' params filled in as lbbench fills them): both Hello World workers answer
//! through the front program, a killed worker is replaced, and SIGHUP reloads the front program
//! (new nginx or haproxy worker processes, the Hello World workers left alone). And what each
//! variant changes, beside the plain one: nginx-reuseport has a listening socket per nginx
//! worker, each worker waiting on its own; haproxy-shards one per haproxy thread.
//!
//! Not tested here: what a SIGKILLed front leaves. nginx's workers outlive their master, which
//! dies with front; in a cell its PID namespace and guard stop them (lbbench's own tests).
//!
//! Needs nginx or haproxy: ignored with the reason outside CI when missing, failed in CI.

use hello::exclusive::epoll_instances;
use std::path::Path;
use std::time::Duration;
use testkit::procs::named_workers;
use testkit::recovery::check_dead_worker_is_replaced;
use testkit::running::check_workers_answer_and_stop;
use testkit::{children_of, gone, trial, wait_for, Answering, Needs, Running, Trial};

const FRONT: &str = env!("CARGO_BIN_EXE_front");

/// (manifest directory, variant, the front program).
const VARIANTS: [(&str, &str, &str); 2] = [
    ("nginx", "nginx-reuseport", "nginx"),
    ("haproxy", "haproxy-shards", "haproxy"),
];

fn main() {
    let mut trials: Vec<Trial> = Vec::new();
    for (dir, variant, program) in VARIANTS {
        let needs = Needs::programs(match program {
            "nginx" => &["nginx"],
            _ => &["haproxy"],
        });
        let with_args = |check: fn(&[&str])| {
            move || {
                let run = tempfile::tempdir().unwrap();
                let args = testkit::manifest::start_args(dir, variant, run.path());
                check(&args.iter().map(String::as_str).collect::<Vec<_>>());
            }
        };
        // Front, its 2 workers and the front program's master.
        trials.push(trial(
            format!("{variant}::both_workers_answer_and_everything_stops_on_sigterm"),
            needs,
            with_args(|a| check_workers_answer_and_stop(FRONT, a, 3, Answering::Every)),
        ));
        trials.push(trial(
            format!("{variant}::a_dead_worker_is_replaced"),
            needs,
            with_args(|a| check_dead_worker_is_replaced(FRONT, a)),
        ));
        trials.push(trial(
            format!("{variant}::sighup_reloads_the_front_program"),
            needs,
            move || {
                let run = tempfile::tempdir().unwrap();
                let server = start(dir, variant, run.path());
                reload(&server, program);
            },
        ));
    }
    trials.push(trial(
        "nginx_reuseport_gives_each_nginx_worker_a_listener_of_its_own",
        Needs::programs(&["nginx"]),
        nginx_listeners,
    ));
    trials.push(trial(
        "haproxy_shards_has_a_listener_per_thread",
        Needs::programs(&["haproxy"]),
        haproxy_listeners,
    ));
    testkit::run_trials(trials);
}

fn start(dir: &str, variant: &str, run: &Path) -> Running {
    let args = testkit::manifest::start_args(dir, variant, run);
    Running::start(FRONT, 2, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

/// The front program's master (front's child named `program`) and its `n` workers, once it has
/// them all.
fn front_program(server: &Running, program: &str, n: usize) -> (u32, Vec<u32>) {
    let mut found = (0, Vec::new());
    let started = wait_for(Duration::from_secs(20), || {
        let Some(master) = children_of(server.child.id()).into_iter().find(|p| comm(*p) == program) else {
            return false;
        };
        found = (master, children_of(master));
        found.1.len() == n
    });
    assert!(started, "{program} never had {n} workers: {found:?}");
    found
}

/// How many workers the front program has with 2 Hello World workers: nginx one process per
/// worker (worker_processes = N), haproxy one process (nbthread = N).
fn front_workers(program: &str) -> usize {
    if program == "nginx" {
        2
    } else {
        1
    }
}

/// SIGHUP to front: the front program's master replaces all its workers (new pids, the old ones
/// gone), the Hello World workers stay, and both answer through it. Returns the new workers.
fn reload(server: &Running, program: &str) -> Vec<u32> {
    let n = front_workers(program);
    let (master, before) = front_program(server, program, n);
    let hello = named_workers(server.child.id(), 2);
    // The first answer can come before the master handles its reload signal: haproxy's master
    // ignores SIGUSR2 until its loop starts, and a reload sent then is lost.
    use nix::sys::signal::Signal;
    let signal = if program == "nginx" {
        Signal::SIGHUP
    } else {
        Signal::SIGUSR2
    } as i32;
    assert!(
        wait_for(Duration::from_secs(20), || catches(master, signal)),
        "{program}'s master never handled signal {signal}"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(server.child.id() as i32),
        nix::sys::signal::SIGHUP,
    )
    .unwrap();
    let mut now = Vec::new();
    let replaced = wait_for(Duration::from_secs(30), || {
        now = children_of(master);
        now.len() == n && now.iter().all(|p| !before.contains(p)) && before.iter().all(|p| gone(*p))
    });
    assert!(
        replaced,
        "{program}'s workers {before:?} were not replaced: now {now:?}"
    );
    assert_eq!(
        named_workers(server.child.id(), 2),
        hello,
        "the Hello World workers must stay"
    );
    server.assert_answering(2, Answering::Every);
    now
}

/// Whether process `pid` has a handler for `signal` (its SigCgt mask in /proc).
fn catches(pid: u32, signal: i32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
        .is_some_and(|m| m & (1 << (signal - 1)) != 0)
}

/// Inodes of the sockets listening on 127.0.0.1:`port` (/proc/net/tcp: state 0A).
fn listening(port: u16) -> Vec<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let local = format!("0100007F:{port:04X}");
    let mut found: Vec<u64> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f[1] == local && f[3] == "0A")
        .map(|f| f[9].parse().unwrap())
        .collect();
    found.sort_unstable();
    found
}

/// Which of `listeners` process `pid` waits on (has in an epoll instance).
fn waits_on(pid: u32, listeners: &[u64]) -> Vec<u64> {
    let mut found: Vec<u64> = epoll_instances(&pid.to_string())
        .unwrap()
        .into_iter()
        .flat_map(|(_, watched)| watched)
        .map(|w| w.ino)
        .filter(|ino| listeners.contains(ino))
        .collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// Which of `listeners` process `pid` waits on, once it waits on what `settled` accepts: an
/// nginx worker adds its listener to its epoll instance as it starts, which can come after a
/// sibling has already answered (seen once in a `make test` here), so the first reading may be
/// empty. The reading at the deadline is returned either way, for the caller to judge.
fn waits_on_settled(pid: u32, listeners: &[u64], settled: impl Fn(&[u64]) -> bool) -> Vec<u64> {
    let mut seen = Vec::new();
    wait_for(Duration::from_secs(20), || {
        seen = waits_on(pid, listeners);
        settled(&seen)
    });
    seen
}

/// Plain nginx: one listening socket, every nginx worker waiting on it. nginx-reuseport: one
/// per nginx worker, each waiting on its own only, after a reload too. (Every worker inherits
/// every socket from the master; which it waits on is what decides.)
fn nginx_listeners() {
    let run = tempfile::tempdir().unwrap();
    let plain = start("nginx", "nginx", run.path());
    let (_, workers) = front_program(&plain, "nginx", 2);
    let shared = listening(plain.port);
    assert_eq!(shared.len(), 1, "{shared:?}");
    for w in workers {
        let seen = waits_on_settled(w, &shared, |seen| seen == shared);
        assert_eq!(seen, shared, "nginx worker {w}");
    }
    let run = tempfile::tempdir().unwrap();
    let server = start("nginx", "nginx-reuseport", run.path());
    let (_, workers) = front_program(&server, "nginx", 2);
    let own = |workers: &[u32]| {
        let listeners = listening(server.port);
        assert_eq!(listeners.len(), 2, "a listener per nginx worker: {listeners:?}");
        let mut each: Vec<u64> = workers
            .iter()
            .map(|&w| match waits_on_settled(w, &listeners, |seen| seen.len() == 1)[..] {
                [one] => one,
                ref other => panic!("nginx worker {w} waits on {other:?} of {listeners:?}"),
            })
            .collect();
        each.sort_unstable();
        assert_eq!(each, listeners, "each nginx worker on a listener of its own");
    };
    own(&workers);
    own(&reload(&server, "nginx"));
}

/// Plain haproxy: one listening socket. haproxy-shards: as many as its worker has threads, all
/// in that worker.
fn haproxy_listeners() {
    for (variant, shards) in [("haproxy", false), ("haproxy-shards", true)] {
        let run = tempfile::tempdir().unwrap();
        let server = start("haproxy", variant, run.path());
        let (_, workers) = front_program(&server, "haproxy", 1);
        let listeners = listening(server.port);
        let threads = std::fs::read_dir(format!("/proc/{}/task", workers[0])).unwrap().count();
        let expected = if shards { threads } else { 1 };
        assert_eq!(
            listeners.len(),
            expected,
            "{variant}: {threads} threads, listeners {listeners:?}"
        );
        assert_eq!(threads, 2, "{variant}: nbthread is the number of Hello World workers");
        let held: Vec<u64> = std::fs::read_dir(format!("/proc/{}/fd", workers[0]))
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .filter_map(|t| t.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok())
            .collect();
        assert!(
            listeners.iter().all(|l| held.contains(l)),
            "{variant}: the worker holds {held:?}, not all of {listeners:?}"
        );
    }
}

//! What each program does with new connections: round-robin goes round exactly, least-loaded
//! sends each to a worker with the fewest open, both keep doing so once workers were replaced
//! (a replacement's socket goes back into its predecessor's slot); and the probe says why it
//! cannot load them without privilege.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;
use testkit::procs::named_workers;
use testkit::steering::{all_named, workers_of_new_connections};
use testkit::{gone, trial, trial_unless, wait_for, Needs, Running};

const BIN: &str = env!("CARGO_BIN_EXE_reuseport-ebpf");

fn main() {
    let root = Needs {
        root: true,
        ..Needs::NOTHING
    };
    let as_nobody = nix::unistd::geteuid().is_root() && testkit::which("setpriv").is_none();
    testkit::run_trials(vec![
        trial("rr_goes_round_exactly_through_kill_and_reload", root, round_robin),
        trial("least_sends_new_connections_to_the_fewest_open", root, least),
        trial("the_probe_loads_both_programs_as_root", root, probe_as_root),
        trial_unless(
            "the_probe_names_the_missing_capability",
            as_nobody.then(|| "needs setpriv (util-linux) to run the probe as nobody".into()),
            probe_unprivileged,
        ),
    ]);
}

/// Kills worker `k` of `master` (of `n`) and waits until its replacement has named itself.
fn replace(master: u32, n: usize, k: usize) {
    let old = all_named(master, n)[k];
    kill(Pid::from_raw(old as i32), Signal::SIGKILL).unwrap();
    let replaced = wait_for(Duration::from_secs(20), || {
        named_workers(master, n)[k].is_some_and(|p| p != old) && gone(old)
    });
    assert!(replaced, "worker {k} ({old}) was not replaced");
}

/// 30 connections one after another with 3 workers: each goes to the worker after the last
/// one's, wherever the counter stands (the start-up checks used some of its turns).
fn round_robin() {
    let server = Running::start(BIN, 3, &["--select", "rr"]);
    let master = server.child.id();
    let check = |when: &str| {
        let order = workers_of_new_connections(server.port, 30);
        let round = order.windows(2).all(|w| w[1] == (w[0] + 1) % 3);
        assert!(round, "{when}: {order:?}");
    };
    all_named(master, 3);
    check("at start");
    replace(master, 3, 1);
    check("after worker 1 was replaced");
    let before = all_named(master, 3);
    kill(Pid::from_raw(master as i32), Signal::SIGHUP).unwrap();
    let reloaded = wait_for(Duration::from_secs(30), || {
        let now = named_workers(master, 3);
        now.iter().zip(&before).all(|(n, b)| n.is_some_and(|n| n != *b)) && before.iter().all(|b| gone(*b))
    });
    assert!(reloaded, "SIGHUP did not replace workers {before:?}");
    check("after SIGHUP");
}

/// A keep-alive connection held open, and the worker that took it.
struct Held {
    stream: TcpStream,
    worker: usize,
}

/// Opens a connection and has one request answered on it, so its worker has accepted (and
/// counted) it; keeps it open.
fn hold(port: u16) -> Held {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"Hello World") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "closed after {:?}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let worker = testkit::worker_of(&text)
        .and_then(|w| w.parse().ok())
        .expect("X-Worker");
    Held { stream, worker }
}

/// Closes a held connection and waits for the worker's close (end of stream): by then the worker
/// has closed its side, and it counts the connection out in the same step.
fn release(mut h: Held) {
    h.stream.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    let _ = h.stream.read_to_end(&mut rest);
}

fn held_by(held: &[Held], w: usize) -> usize {
    held.iter().filter(|h| h.worker == w).count()
}

/// With 3 workers each holding at least 4 connections, worker 1's are closed: new connections
/// go to worker 1, then held ones too, while it has fewer open than the others. Worker 2 is then
/// killed with its connections open (never counted out): its replacement starts from none, so
/// new connections go to it. The margins allow for the one count a worker may not have made yet
/// (a connection closed and not yet counted out: the worker does that right after closing).
fn least() {
    let server = Running::start(BIN, 3, &["--select", "least"]);
    let master = server.child.id();
    all_named(master, 3);
    let mut held: Vec<Held> = Vec::new();
    while (0..3).any(|w| held_by(&held, w) < 4) {
        assert!(
            held.len() < 60,
            "least-loaded did not spread 60 held connections: {:?}",
            counts(&held)
        );
        held.push(hold(server.port));
    }
    let (drained, kept): (Vec<Held>, Vec<Held>) = held.into_iter().partition(|h| h.worker == 1);
    drained.into_iter().for_each(release);
    let mut held = kept;
    let fresh = workers_of_new_connections(server.port, 20);
    assert!(fresh.iter().all(|&w| w == 1), "worker 1 had the fewest open: {fresh:?}");
    let fewest_others = |held: &[Held]| held_by(held, 0).min(held_by(held, 2));
    while held_by(&held, 1) + 1 < fewest_others(&held) {
        let h = hold(server.port);
        assert_eq!(h.worker, 1, "worker 1 still had the fewest: {:?}", counts(&held));
        held.push(h);
    }
    // Worker 2 dies holding its connections; the others hold at least 3 each.
    replace(master, 3, 2);
    held.retain(|h| h.worker != 2);
    assert!(held_by(&held, 0).min(held_by(&held, 1)) >= 3, "{:?}", counts(&held));
    let fresh = workers_of_new_connections(server.port, 20);
    assert!(
        fresh.iter().all(|&w| w == 2),
        "the replacement had none open: {fresh:?}"
    );
}

fn counts(held: &[Held]) -> [usize; 3] {
    [0, 1, 2].map(|w| held_by(held, w))
}

fn probe(select: &str, as_nobody: bool) -> std::process::Output {
    let mut cmd = if as_nobody {
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--", BIN]);
        c
    } else {
        std::process::Command::new(BIN)
    };
    cmd.args(["--probe", "--select", select]);
    testkit::output_within(&mut cmd, Duration::from_secs(30)).unwrap()
}

fn probe_as_root() {
    for select in ["rr", "least"] {
        let out = probe(select, false);
        assert!(out.status.success(), "{select}: {out:?}");
    }
}

/// Without privilege (as nobody when we are root), the probe fails, its first line naming what
/// is missing: that line is the reason lbbench gives for skipping the strategy.
fn probe_unprivileged() {
    let root = nix::unistd::geteuid().is_root();
    for select in ["rr", "least"] {
        let out = probe(select, root);
        let said = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            !out.status.success(),
            "{select}: the probe passed without privilege: {said}"
        );
        let first = said.lines().next().unwrap_or_default();
        assert!(first.contains("CAP_BPF"), "{select}: {first:?}");
    }
}

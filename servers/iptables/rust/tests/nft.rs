//! nft-lb for real, each trial inside a private network namespace of its own (the host's ruleset
//! is compared before and after every one): the strategy contract in both modes; `numgen inc`
//! alternates exactly over 20 new connections, `numgen random` reaches both workers within a
//! binomial bound over 200; a client over a veth link is balanced by the prerouting rule; the
//! table goes when the strategy stops, and the host namespace is refused.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use testkit::contract;
use testkit::{get_close, netns, trial, wait_for, worker_of, Answering, Needs, Running};

const BIN: &str = env!("CARGO_BIN_EXE_nft-lb");

const NEEDS: Needs = Needs {
    root: false,
    programs: &["nft", "nsenter"],
    cpus: 0,
};

fn main() {
    let mut trials = Vec::new();
    for (mode, extra) in [("inc", &["--mode", "inc"][..]), ("random", &["--mode", "random"][..])] {
        for (name, check) in contract::checks(BIN, extra, 2, Answering::Every) {
            trials.push(nat_trial(format!("{mode}::{name}"), check));
        }
    }
    trials.push(nat_trial("inc_alternates_exactly_and_the_table_goes_at_stop", inc));
    trials.push(nat_trial("random_reaches_both_workers_within_a_binomial_bound", random));
    trials.push(nat_trial("a_client_over_a_link_is_balanced_by_prerouting", prerouting));
    trials.push(trial("the_host_namespace_is_refused", Needs::NOTHING, host_refused));
    testkit::run_trials(trials);
}

/// A trial whose `body` runs in a private network namespace, leaving the host's ruleset as it was.
fn nat_trial(name: impl Into<String>, body: impl FnOnce() + Send + 'static) -> testkit::Trial {
    let name = name.into();
    if netns::inside(&name) {
        return testkit::trial_unless(name, None, body);
    }
    let n = name.clone();
    testkit::trial_unless(name, netns::unmet(NEEDS), move || {
        let before = ruleset();
        netns::run_inside(&n);
        assert_eq!(before, ruleset(), "the host's ruleset changed");
    })
}

fn ruleset() -> String {
    let out = Command::new("nft").args(["list", "ruleset"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn table_listed(port: u16) -> bool {
    Command::new("nft")
        .args(["list", "table", "ip", &format!("lbbench_{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The workers that answered `n` new connections made one after the other.
fn answers(port: u16, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| worker_of(&get_close(port).unwrap()).expect("an X-Worker header"))
        .collect()
}

fn inc() {
    let mut server = Running::start(BIN, 2, &["--mode", "inc"]);
    assert!(table_listed(server.port));
    // The readiness checks went through the rule too: only the order from here is known.
    let seen = answers(server.port, 20);
    assert!(
        seen.windows(2).all(|w| w[0] != w[1]),
        "numgen inc must alternate: {seen:?}"
    );
    assert_eq!(seen.iter().filter(|w| *w == "0").count(), 10, "{seen:?}");
    assert!(server.terminate(Duration::from_secs(10)), "did not stop at SIGTERM");
    assert!(!table_listed(server.port), "the table outlived the strategy");
}

fn random() {
    let server = Running::start(BIN, 2, &["--mode", "random"]);
    let seen = answers(server.port, 200);
    let zeros = seen.iter().filter(|w| *w == "0").count();
    eprintln!("numgen random: worker 0 {zeros}, worker 1 {} of 200", 200 - zeros);
    // Binomial(200, 1/2): sd 7.07; 45 off the mean is 6.4 sd, a chance below 1e-9.
    assert!((55..=145).contains(&zeros), "worker 0 got {zeros} of 200: {seen:?}");
}

/// Inside the trial's namespace: a client in a namespace of its own (a `sleep` holds it) joined
/// by a veth pair, reaching the strategy at 198.18.0.1 (a benchmarking range, RFC 2544).
fn prerouting() {
    let holder = Stopped(Command::new("unshare").args(["--net", "sleep", "300"]).spawn().unwrap());
    let client_ns = format!("/proc/{}/ns/net", holder.0.id());
    let ours = std::fs::read_link("/proc/self/ns/net").unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || std::fs::read_link(&client_ns)
            .is_ok_and(|l| l != ours)),
        "the client's namespace never appeared"
    );
    let sh = |ns: Option<&str>, script: &str| {
        let mut cmd = match ns {
            Some(ns) => {
                let mut c = Command::new("nsenter");
                c.arg(format!("--net={ns}")).arg("sh");
                c
            }
            None => Command::new("sh"),
        };
        let out = cmd.args(["-ec", script]).output().unwrap();
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    sh(
        None,
        &format!(
            "ip link add lbv0 type veth peer name lbv1; ip link set lbv1 netns {}; \
             ip addr add 198.18.0.1/30 dev lbv0; ip link set lbv0 up",
            holder.0.id()
        ),
    );
    sh(
        Some(&client_ns),
        "ip link set lo up; ip addr add 198.18.0.2/30 dev lbv1; ip link set lbv1 up",
    );
    let port = lbproc::ports::free_block(2).unwrap();
    let _server = Stopped(
        Command::new(BIN)
            .args([
                "--mode",
                "inc",
                "--workers",
                "2",
                "--host",
                "198.18.0.1",
                "--port",
                &port.to_string(),
            ])
            .spawn()
            .unwrap(),
    );
    // From the client's namespace: a thread that has joined it (namespaces are per thread).
    let client = std::thread::spawn(move || {
        let ns = std::fs::File::open(&client_ns).unwrap();
        nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        let get = || -> Option<String> {
            use std::io::{Read, Write};
            let mut s = TcpStream::connect_timeout(&([198, 18, 0, 1], port).into(), Duration::from_secs(5)).ok()?;
            s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
            s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .ok()?;
            let mut out = String::new();
            s.read_to_string(&mut out).ok()?;
            worker_of(&out)
        };
        assert!(
            wait_for(Duration::from_secs(20), || get().is_some()),
            "never answered over the link"
        );
        (0..20)
            .map(|_| get().expect("an answer over the link"))
            .collect::<Vec<_>>()
    });
    let seen = client.join().expect("the client over the link failed");
    assert!(seen.windows(2).all(|w| w[0] != w[1]), "{seen:?}");
}

/// A child process stopped (SIGTERM, then SIGKILL) when the test is done with it, passed or not.
struct Stopped(Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        lbproc::stop(
            &[nix::unistd::Pid::from_raw(self.0.id() as i32)],
            Duration::from_secs(3),
            None,
        );
    }
}

fn host_refused() {
    let out = Command::new(BIN)
        .args(["--workers", "1", "--port", "18090"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to add NAT rules") && err.contains("nft-lb"),
        "{err}"
    );
}

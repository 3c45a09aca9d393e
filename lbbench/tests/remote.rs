//! Beyond one machine, tested on one: the veth topology, and sweeps whose server and load hosts
//! are network namespaces running sshd (see lan/), reached by `lbbench run` over ssh.

mod common;
mod lan;

use common::{copy_of_reuseport, debug_bin, servers, text, TINY};
use harness::netns::{self, Netns};
use lan::Lan;
use model::histogram::Stored;
use model::load::Percentiles;
use model::network::{Link, NetworkConfig};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};
use testkit::{trial, wait_for, Needs};

fn main() {
    let veth = Needs {
        root: true,
        programs: &["ip"],
        ..Needs::NOTHING
    };
    let ssh = Needs {
        root: true,
        programs: &["ip", "ssh", "ssh-keygen", "sshd"],
        ..Needs::NOTHING
    };
    testkit::run_trials(vec![
        trial("the_veth_client_reaches_the_server_over_a_link", veth, veth_link),
        trial(
            "rtt_is_applied_or_refused_with_the_reason",
            veth,
            rtt_applied_or_refused,
        ),
        trial("a_veth_sweep_measures_every_cell", veth, veth_sweep),
        trial("two_load_hosts_merge_exactly", ssh, two_load_hosts_merge_exactly),
        trial(
            "a_killed_agent_fails_its_cell_naming_the_host_and_the_sweep_goes_on",
            ssh,
            killed_agent,
        ),
        trial("a_version_mismatch_is_refused_before_any_load", ssh, version_mismatch),
        trial("sigkill_of_the_controller_leaves_no_agent", ssh, sigkill_controller),
    ]);
}

/// A server namespace with the client's joined to it: a connection from the client arrives from
/// the client's address, and the server's loopback is out of the client's reach.
fn veth_link() {
    let server = Netns::new().unwrap();
    let (listener, client) = server
        .run(|| {
            let lo = std::process::Command::new("ip")
                .args(["link", "set", "lo", "up"])
                .status()?;
            assert!(lo.success());
            let client = netns::client(None)?;
            let listener = TcpListener::bind((model::network::SERVER_ADDR, 0))?;
            Ok((listener, client))
        })
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let loopback = server.run(|| Ok(TcpListener::bind(("127.0.0.1", 0))?)).unwrap();
    let lo_port = loopback.local_addr().unwrap().port();
    let (far, near) = client
        .run(|| {
            let far = TcpStream::connect((model::network::SERVER_ADDR, port));
            let near =
                TcpStream::connect_timeout(&SocketAddr::from(([127, 0, 0, 1], lo_port)), Duration::from_millis(300));
            Ok((far.map(|_| ()), near.map(|_| ())))
        })
        .unwrap();
    far.unwrap();
    assert!(near.is_err(), "the client has a loopback of its own");
    let (_, peer) = listener.accept().unwrap();
    assert_eq!(peer.ip(), std::net::IpAddr::from(model::network::CLIENT_ADDR));
}

/// With `rtt`, a round trip over the link takes at least that long; a kernel without netem
/// refuses it before any cell, saying so.
fn rtt_applied_or_refused() {
    let rtt = Duration::from_millis(20);
    let config = NetworkConfig {
        topology: Link::Veth,
        rtt: Some(rtt),
    };
    match netns::preflight(&config, true) {
        Err(e) => {
            let e = format!("{e:#}");
            assert!(e.contains("netem") && e.contains("remove network.rtt"), "{e}");
        }
        Ok(()) => {
            let server = Netns::new().unwrap();
            let (listener, client) = server
                .run(|| {
                    Ok((
                        TcpListener::bind((model::network::SERVER_ADDR, 0))?,
                        netns::client(Some(rtt))?,
                    ))
                })
                .unwrap();
            let addr = listener.local_addr().unwrap();
            let echo = std::thread::spawn(move || {
                let (mut s, _) = listener.accept().unwrap();
                let mut b = [0u8; 1];
                s.read_exact(&mut b).unwrap();
                s.write_all(&b).unwrap();
            });
            let took = client
                .run(|| {
                    let mut s = TcpStream::connect(addr)?;
                    let t = Instant::now();
                    s.write_all(b"x")?;
                    s.read_exact(&mut [0u8; 1])?;
                    Ok(t.elapsed())
                })
                .unwrap();
            echo.join().unwrap();
            assert!(took >= rtt, "a round trip took {took:?}, less than rtt {rtt:?}");
        }
    }
}

fn veth_sweep() {
    let bin = debug_bin("reuseport");
    let root = servers(&[("my-copy", copy_of_reuseport("my-copy"))]);
    std::fs::write(
        root.path().join("veth.toml"),
        format!("{TINY}[network]\ntopology = \"veth\"\n"),
    )
    .unwrap();
    let out = common::lbbench(root.path(), &bin, &["run", "-c", "veth.toml", "--out", "res"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let results = read_results(root.path());
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 2, "{results}");
    for c in cells {
        assert!(c["ok"].as_u64().unwrap() > 0, "{c}");
    }
    assert_eq!(results["config"]["network"]["topology"], "veth");
}

fn read_results(root: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(root.join("res/results.json")).unwrap()).unwrap()
}

/// A profile whose cells run on `srv` with load from `gen1` and `gen2`.
fn profile(lan: &Lan, duration: &str, repeats: usize, load: &str) -> String {
    format!(
        "[sweep]\ncores = [1]\nworkloads = [\"keepalive\"]\nrepeats = {repeats}\n[load]\nconnections = 8\nduration = \"{duration}\"\n\
         warmup = \"200ms\"\n[server]\nready_timeout = \"10s\"\nstop_grace = \"1s\"\n[hosts]\nserver = \"srv\"\nload = {load}\n\
         ssh_config = \"{}\"\n",
        lan.ssh_config.display()
    )
}

/// `lbbench ARGS --servers ROOT/servers --bin BIN` in the controller's namespace.
fn controller(lan: &Lan, root: &Path, bin: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = lan.command(env!("CARGO_BIN_EXE_lbbench"));
    cmd.args(args)
        .arg("--servers")
        .arg(root.join("servers"))
        .arg("--bin")
        .arg(bin)
        .current_dir(root);
    cmd
}

fn two_load_hosts_merge_exactly() {
    let lan = Lan::new(&["srv", "gen1", "gen2"]);
    let (root, child) = start_sweep(&lan, &profile(&lan, "1s", 1, "[\"gen1\", \"gen2\"]"), Stdio::piped);
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let results = read_results(root.path());
    let cell = &results["cells"][0];
    let hosts = cell["load_hosts"].as_array().unwrap();
    let names: Vec<&str> = hosts.iter().map(|h| h["host"].as_str().unwrap()).collect();
    assert_eq!(names, ["gen1", "gen2"], "{cell}");
    let sum = |key: &str| hosts.iter().map(|h| h[key].as_u64().unwrap()).sum::<u64>();
    assert!(hosts.iter().all(|h| h["requests"].as_u64().unwrap() > 0), "{cell}");
    assert_eq!(cell["requests"].as_u64().unwrap(), sum("requests"), "{cell}");
    assert_eq!(cell["ok"].as_u64().unwrap(), sum("ok"), "{cell}");
    assert_eq!(cell["connections"], 8);
    let mut merged = Stored::default();
    for h in hosts {
        let s: Stored = serde_json::from_value(h["histograms"]["latency"].clone()).unwrap();
        merged.0.add(&s.0).unwrap();
    }
    let p = Percentiles::of(&merged.0);
    assert_eq!(cell["latency_us"]["p99"].as_u64().unwrap(), p.p99, "{cell}");
    assert_eq!(cell["latency_us"]["p50"].as_u64().unwrap(), p.p50, "{cell}");
    let stored: Stored = serde_json::from_value(cell["histograms"]["latency"].clone()).unwrap();
    assert_eq!(stored.0, merged.0, "the cell's histogram is the sum of the hosts'");
    assert_eq!(cell["isolated"], false);
    let gone = wait_for(Duration::from_secs(30), || lan.leftovers().is_empty());
    assert!(gone, "left behind: {:?}", lan.leftovers());
}

/// Waits for an agent on `host`, lets it run `after`, and kills it with SIGKILL.
fn kill_agent(lan: &Lan, host: &str, after: Duration) -> bool {
    let mut pids = Vec::new();
    let found = wait_for(Duration::from_secs(30), || {
        pids = lan.processes(host, " agent");
        !pids.is_empty()
    });
    std::thread::sleep(after);
    for pid in &pids {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(*pid), nix::sys::signal::Signal::SIGKILL);
    }
    found
}

/// Starts `lbbench run` on a profile in the controller's namespace, its output piped or not.
fn start_sweep(lan: &Lan, profile: &str, output: fn() -> Stdio) -> (tempfile::TempDir, Child) {
    let bin = debug_bin("reuseport");
    let root = servers(&[("victim", copy_of_reuseport("victim"))]);
    std::fs::write(root.path().join("hosts.toml"), profile).unwrap();
    let child = controller(lan, root.path(), &bin, &["run", "-c", "hosts.toml", "--out", "res"])
        .stdout(output())
        .stderr(output())
        .spawn()
        .unwrap();
    (root, child)
}

fn killed_agent() {
    let lan = Lan::new(&["srv", "gen1", "gen2"]);
    let (root, child) = start_sweep(&lan, &profile(&lan, "3s", 2, "[\"gen1\", \"gen2\"]"), Stdio::piped);
    assert!(
        kill_agent(&lan, "gen2", Duration::from_secs(1)),
        "no agent ever ran on gen2"
    );
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the sweep went on: {}", text(&out.stderr));
    let results = read_results(root.path());
    let failures = results["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{results}");
    let error = failures[0]["error"].as_str().unwrap();
    assert!(error.contains("load host gen2"), "{error}");
    assert_eq!(failures[0]["repeat"], 0, "{results}");
    let cells = results["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 1, "the next cell ran: {results}");
    assert_eq!(cells[0]["repeat"], 1);
    assert!(cells[0]["ok"].as_u64().unwrap() > 0);
}

fn version_mismatch() {
    let lan = Lan::new(&["srv", "gen1", "gen2"]);
    let fake = lan.path("old-lbbench");
    let calls = lan.path("calls");
    std::fs::write(
        &fake,
        format!(
            "#!/bin/sh\necho \"$@\" >> {}\necho 'lbbench 0.0.1 (0000000)'\n",
            calls.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let load = format!("[\"gen1\", {{ ssh = \"gen2\", lbbench = \"{}\" }}]", fake.display());
    let text_of = |o: &Output| format!("{}{}", text(&o.stdout), text(&o.stderr));
    let bin = debug_bin("reuseport");
    let root = servers(&[("victim", copy_of_reuseport("victim"))]);
    std::fs::write(root.path().join("hosts.toml"), profile(&lan, "1s", 1, &load)).unwrap();
    let check = controller(&lan, root.path(), &bin, &["hosts", "check", "-c", "hosts.toml"])
        .output()
        .unwrap();
    assert!(!check.status.success(), "{}", text_of(&check));
    let said = text_of(&check);
    assert!(
        said.contains("gen2 answers `lbbench 0.0.1 (0000000)`") && said.contains("copy this lbbench there"),
        "{said}"
    );
    assert!(!said.contains("gen1 answers"), "gen1 runs this lbbench: {said}");
    let run = controller(&lan, root.path(), &bin, &["run", "-c", "hosts.toml", "--out", "res"])
        .output()
        .unwrap();
    assert!(!run.status.success());
    assert!(text_of(&run).contains("gen2 answers"), "{}", text_of(&run));
    assert!(!root.path().join("res/results.json").exists(), "no cell ran");
    let no_repo = profile(&lan, "1s", 1, "[\"gen1\"]").replace(
        "server = \"srv\"",
        "server = { ssh = \"srv\", repo = \"/nonexistent-lbbench\" }",
    );
    std::fs::write(root.path().join("no-repo.toml"), no_repo).unwrap();
    let check = controller(&lan, root.path(), &bin, &["hosts", "check", "-c", "no-repo.toml"])
        .output()
        .unwrap();
    assert!(!check.status.success());
    assert!(
        text_of(&check).contains("the server host srv has no /nonexistent-lbbench/servers"),
        "{}",
        text_of(&check)
    );
    let calls = std::fs::read_to_string(&calls).unwrap();
    assert!(
        calls.lines().all(|l| l == "--version"),
        "only asked its version: {calls}"
    );
}

fn sigkill_controller() {
    let lan = Lan::new(&["srv", "gen1", "gen2"]);
    let (_root, mut child) = start_sweep(&lan, &profile(&lan, "30s", 1, "[\"gen1\", \"gen2\"]"), Stdio::null);
    let running = wait_for(Duration::from_secs(30), || {
        ["gen1", "gen2"].iter().all(|h| !lan.processes(h, " agent").is_empty())
            && !lan.processes("srv", "--workers").is_empty()
    });
    assert!(running, "agents and the strategy never ran: {:?}", lan.leftovers());
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    let gone = wait_for(Duration::from_secs(30), || lan.leftovers().is_empty());
    assert!(
        gone,
        "left behind after kill -9 of the controller: {:?}",
        lan.leftovers()
    );
}

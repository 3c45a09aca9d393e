//! Faults through `lbbench run`, for real: a killed worker is replaced by the Rust masters and all
//! workers answer again, with the errors and the recovery reported; a stopped worker shows up as
//! timeouts and a latency spike, then recovers after SIGCONT; every strategy's reload happens
//! (and the Rust masters lose nothing to it over keep-alive connections); and without root a cell
//! killed with SIGKILL during a fault leaves nothing behind, with or without a user namespace.
//!
//! Every cell of a sweep pins its server and its client to the same CPUs, so two cells at once
//! would share them: the trials run one at a time. Nothing here asserts how fast this machine
//! is: an injection is never early, a replacement comes eventually, and a recovery is judged
//! against the same run's level before the fault.

mod common;

use common::faults::{answers, num, results_path, run_cell, run_cells, PROFILE};
use common::{all_debug_bins, strategies};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use testkit::{descendants, gone, output_within, trial_unless, wait_for};

const RUST_MASTERS: [&str; 3] = ["cluster-rr", "shared-socket", "reuseport"];

fn main() {
    let bin = all_debug_bins();
    let all = strategies(&bin);
    let unmet = |name: &str| all.iter().find(|(n, _)| n == name).and_then(|(_, u)| u.clone());
    let mut trials = Vec::new();
    for name in RUST_MASTERS {
        let b = bin.clone();
        trials.push(trial_unless(
            format!("a_killed_worker_is_replaced::{name}"),
            None,
            move || a_killed_worker_is_replaced(&b, name),
        ));
    }
    let b = bin.clone();
    trials.push(trial_unless(
        "a_stopped_worker_times_out_then_recovers",
        None,
        move || a_stopped_worker_times_out_then_recovers(&b),
    ));
    for userns in [true, false] {
        let b = bin.clone();
        let mode = if userns { "user_namespace" } else { "no_namespace" };
        let needs = [unmet("nginx"), unprivileged(userns)].into_iter().flatten().next();
        trials.push(trial_unless(
            format!("kill_9_without_root_leaves_nothing::{mode}"),
            needs,
            move || kill_9_without_root_leaves_nothing(&b, userns),
        ));
    }
    let b = bin.clone();
    let needs = [unmet("iptables-nth"), unprivileged(true)].into_iter().flatten().next();
    trials.push(trial_unless("iptables_runs_without_root", needs, move || {
        iptables_runs_without_root(&b)
    }));
    let mut args = libtest_mimic::Arguments::from_args();
    args.test_threads = Some(1);
    libtest_mimic::run(&args, trials).exit()
}

fn a_killed_worker_is_replaced(bin: &Path, strategy: &str) {
    let profile = format!(
        "{}[fault]\nkind = \"kill\"\nat = \"1s\"\nworker = 0\n",
        PROFILE.replace("[\"keepalive\"]", "[\"keepalive\", \"close\"]")
    );
    for (cell, f) in run_cells(bin, strategy, &profile) {
        let name = format!("{strategy} {}", cell["workload"]);
        let at = num(&f["at_ms"]);
        // Never early; how late is how busy the machine was (the report uses the real instant).
        assert!((1000.0..3000.0).contains(&at), "{name}: injected at {at} ms: {f}");
        let respawned = f["respawned_ms"]
            .as_f64()
            .unwrap_or_else(|| panic!("{name}: worker 0 was not replaced within the window: {f}"));
        let lost = f["errors"]["reset"].as_u64().unwrap() + f["errors"]["timeout"].as_u64().unwrap();
        assert_eq!(f["lost_in_flight"], lost, "{name}: {f}");
        let t = &cell["timeline"];
        let every = num(&t["interval_ms"]);
        let fault = (at / every) as usize;
        // Recovered by the report's measure (every interval of half a second within 10 % of the
        // level before), or, when a busy machine makes 100 ms intervals too noisy for that, by
        // the median interval from half a second after the fault on against the median before.
        // A level is a speed, though: when something else took the server's CPUs in the window
        // (another process starting mid-window takes the level down with no fault of the
        // strategy's), the window's own noise record says so, and then serving on is what holds.
        let later_rps = median_rps(t, fault + (500.0 / every) as usize);
        let recovered = f["recovery_ms"].is_number() || later_rps >= 0.5 * num(&f["baseline_rps"]);
        let noise = &cell["cpu"]["noise"];
        let share = |key: &str| noise[key].as_f64().unwrap_or(0.0);
        let disturbed = share("interference").max(share("server_steal")) > 0.03;
        assert!(
            recovered || (disturbed && later_rps > 0.0),
            "{name}: no recovery in the window (median {later_rps:.0}/s after it, noise {noise}): {f}"
        );
        if !recovered {
            eprintln!("{name}: the level after the fault is inconclusive, the machine was busy: {noise}");
        }
        // (With a shared socket all keep-alive connections may have gone to worker 1.)
        let w0_served = answers(t, "0").get(fault - 1).is_some_and(|&n| n > 0);
        if cell["workload"] == "keepalive" && w0_served {
            // Worker 0 served connections just before it died: their requests in flight failed.
            assert!(lost >= 1, "{name}: worker 0 died serving, yet no request failed: {f}");
        }
        if cell["workload"] == "close" {
            // A new connection per request: every worker, the replacement too, answers again.
            assert_eq!(
                f["serving_at_end"], 2,
                "{name}: not every worker answered at the end: {f}"
            );
            let after = ((at + respawned) / every).ceil() as usize + 1;
            let w0: u64 = answers(t, "0").get(after..).map_or(0, |a| a.iter().sum());
            assert!(w0 > 0, "{name}: worker 0 never answered after its replacement: {t}");
        }
    }
}

/// The median of the timeline's 2xx per second from interval `from` on.
fn median_rps(t: &Value, from: usize) -> f64 {
    let ok: Vec<f64> = t["ok"].as_array().unwrap().iter().map(num).collect();
    let mut later: Vec<f64> = ok[from.min(ok.len() - 1)..].to_vec();
    later.sort_by(f64::total_cmp);
    later[later.len() / 2] * 1000.0 / num(&t["interval_ms"])
}

fn a_stopped_worker_times_out_then_recovers(bin: &Path) {
    // Stopped for 1.5 s with a 1 s request timeout: the requests it holds time out. A 5 s window
    // leaves 2.5 s after SIGCONT to see the recovery.
    let profile = format!(
        "{}[fault]\nkind = \"stop\"\nat = \"1s\"\nworker = 0\nduration = \"1500ms\"\n",
        PROFILE.replace("\"3s\"", "\"5s\"")
    );
    let (cell, f) = run_cell(bin, "reuseport", &profile);
    let (at, resumed) = (num(&f["at_ms"]), num(&f["resumed_ms"]));
    // Continued no earlier than asked; how much later is the machine's business.
    assert!(
        (1450.0..4000.0).contains(&(resumed - at)),
        "continued {} ms after the stop: {f}",
        resumed - at
    );
    assert!(
        num(&f["errors"]["timeout"]) >= 1.0,
        "no timeout while a worker was stopped: {f}"
    );
    let t = &cell["timeline"];
    let every = num(&t["interval_ms"]);
    let max: Vec<f64> = t["max_us"].as_array().unwrap().iter().map(num).collect();
    // The spike: the requests of the connections opened to the stopped worker after the
    // timeouts are answered after SIGCONT, late (0.5 s here).
    let (from, to) = ((resumed / every) as usize, ((resumed + 300.0) / every) as usize);
    let spike = max[from..=to.min(max.len() - 1)].iter().cloned().fold(0.0, f64::max);
    // Against the p99 before the stop, not its slowest response: one scheduling stall of a
    // busy machine before the fault would otherwise hide the spike.
    let before = num(&f["p99_before_us"]);
    assert!(
        spike >= 200_000.0 && spike > 5.0 * before,
        "no latency spike: slowest {spike} µs after SIGCONT, p99 {before} µs before the stop: {t}"
    );
    assert!(
        num(&f["max_fault_us"]) >= spike,
        "the report's slowest response misses the spike: {f}"
    );
    let later_rps = median_rps(t, ((resumed + 500.0) / every) as usize);
    assert!(
        f["recovery_ms"].is_number() || later_rps >= 0.5 * num(&f["baseline_rps"]),
        "no recovery after SIGCONT (median {later_rps:.0}/s from half a second after it): {f}"
    );
    assert_eq!(f["serving_at_end"], 2, "both workers answer after SIGCONT: {f}");
}

/// Why this machine cannot run lbbench as an unprivileged user (in a user namespace, if `userns`).
fn unprivileged(userns: bool) -> Option<String> {
    if nix::unistd::geteuid().is_root() && testkit::which("setpriv").is_none() {
        return Some("needs setpriv (util-linux) to run lbbench as another user".into());
    }
    if !userns {
        return None;
    }
    let ok = as_user(&mut Command::new("unshare"))
        .args(["--user", "--map-current-user", "--net", "--pid", "--fork", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    (!ok).then(|| "needs unprivileged user namespaces (user.max_user_namespaces > 0)".into())
}

/// `cmd`, run as the unprivileged user `nobody` when we are root (as ourselves otherwise).
fn as_user(cmd: &mut Command) -> Command {
    if !nix::unistd::geteuid().is_root() {
        let mut c = Command::new(cmd.get_program());
        c.args(cmd.get_args());
        return c;
    }
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    c
}

/// A directory the unprivileged user may write, holding `profile` as p.toml.
fn shared_dir(profile: &str) -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    std::fs::write(dir.path().join("p.toml"), profile).unwrap();
    dir
}

/// `lbbench run` of `strategy` in `dir` as the unprivileged user. As root, lbbench, the strategy's
/// binaries and its manifest directory are copied into `dir` first: the checkout may be under a
/// home directory that user cannot enter (/root is mode 700).
fn lbbench_as_user(bin: &Path, dir: &Path, strategy: &str, userns: bool) -> Command {
    let (lbbench, servers, bin) = if nix::unistd::geteuid().is_root() {
        let copy = |from: &Path, to: &Path| {
            let ok = Command::new("cp").arg("-r").arg(from).arg(to).status().unwrap();
            assert!(ok.success(), "copying {} to {}", from.display(), to.display());
        };
        let (servers, bins) = (dir.join("servers"), dir.join("bin"));
        for d in [&servers, &bins] {
            std::fs::create_dir_all(d).unwrap();
        }
        copy(Path::new(env!("CARGO_BIN_EXE_lbbench")), &dir.join("lbbench"));
        for (manifest_dir, program) in [("nginx", "front"), ("iptables", "iptables-lb")] {
            copy(&common::workspace().join("servers").join(manifest_dir), &servers);
            copy(&bin.join(program), &bins);
        }
        chmod_readable(dir);
        (dir.join("lbbench"), servers, bins)
    } else {
        (
            PathBuf::from(env!("CARGO_BIN_EXE_lbbench")),
            common::workspace().join("servers"),
            bin.to_path_buf(),
        )
    };
    let mut cmd = as_user(
        Command::new(lbbench)
            .arg("run")
            .arg("--servers")
            .arg(servers)
            .arg("--bin")
            .arg(bin)
            .args(["-c", "p.toml", "--out", "res", "--no-build", "--strategies", strategy]),
    );
    cmd.current_dir(dir);
    if !userns {
        cmd.env("LBBENCH_USERNS", "off");
    }
    cmd
}

/// Everything under `dir` readable (and its directories enterable) by every user.
fn chmod_readable(dir: &Path) {
    let ok = Command::new("chmod").args(["-R", "a+rX"]).arg(dir).status().unwrap();
    assert!(ok.success(), "chmod -R a+rX {}", dir.display());
}

fn kill_9_without_root_leaves_nothing(bin: &Path, userns: bool) {
    // Killed during a fault: worker 0 stopped (SIGSTOP) for most of a long window.
    let profile = format!(
        "{}[fault]\nkind = \"stop\"\nat = \"1s\"\nworker = 0\nduration = \"50s\"\n",
        PROFILE.replace("\"3s\"", "\"60s\"")
    );
    let dir = shared_dir(&profile);
    let mut run = lbbench_as_user(bin, dir.path(), "nginx", userns)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Running: front, 2 workers, nginx and its worker are all there, below setpriv's lbbench.
    let has_nginx_worker = || descendants(run.id()).iter().filter(|p| comm(**p) == "nginx").count() >= 2;
    assert!(
        wait_for(Duration::from_secs(20), has_nginx_worker),
        "nginx never started: {:?}",
        descendants(run.id()).iter().map(|p| comm(*p)).collect::<Vec<_>>()
    );
    let stopped = || descendants(run.id()).iter().any(|p| state(*p) == "T");
    assert!(wait_for(Duration::from_secs(10), stopped), "worker 0 was never stopped");
    let procs = descendants(run.id());
    // With setpriv, lbbench is setpriv's exec: the same process.
    run.kill().unwrap();
    run.wait().unwrap();
    let cleared = wait_for(Duration::from_secs(20), || procs.iter().all(|p| gone(*p)));
    let left: Vec<String> = procs.iter().filter(|p| !gone(**p)).map(|p| comm(*p)).collect();
    assert!(
        cleared,
        "left behind after kill -9 (user namespace: {userns}): {left:?}"
    );
}

fn iptables_runs_without_root(bin: &Path) {
    let dir = shared_dir(&PROFILE.replace("\"3s\"", "\"500ms\""));
    let out = output_within(
        &mut lbbench_as_user(bin, dir.path(), "iptables-nth", true),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let results: Value = serde_json::from_str(&std::fs::read_to_string(results_path(dir.path())).unwrap()).unwrap();
    assert_eq!(
        results["isolation"]["kind"], "user-namespace",
        "{}",
        results["isolation"]
    );
    assert_eq!(results["skipped"], serde_json::json!([]));
    let per_worker = &results["cells"][0]["per_worker"];
    assert!(
        per_worker["0"].as_u64() > Some(0) && per_worker["1"].as_u64() > Some(0),
        "{per_worker}"
    );
}

/// The process's state letter (R, S, T for stopped...).
fn state(pid: u32) -> String {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("")
        .to_string()
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim_end()
        .to_string()
}

//! Bad and hostile input, bounded by construction: crafted results files are refused naming the
//! cell and the reason without allocating what they declare; a long `lbbench load` does not
//! allocate its length up front, and Ctrl-C prints what it measured; programs lbbench starts
//! get no signal blocked and stop on SIGTERM; kill -9 of `lbbench serve` leaves nothing behind;
//! values no run can honour are refused before any cell; a strategy that fails at startup is
//! told apart by what it did.

mod common;

use common::{copy_of_reuseport, debug_bin, lbbench, servers, text, workspace};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;
use testkit::{gone, trial, wait_for, Needs};

/// What a crafted file may make a reader use at most.
const RSS_LIMIT_KB: i64 = 64 * 1024;

/// One core, keep-alive only, short: a profile for cells that are meant to fail.
const SHORT: &str = "[sweep]\ncores = [1]\nworkloads = [\"keepalive\"]\nrepeats = 1\n";

/// `[load]` of a short run, with `extra` lines.
fn load(extra: &str) -> String {
    format!("[load]\nconnections = 4\nduration = \"300ms\"\nwarmup = \"100ms\"\ncommon_rate = 0\n{extra}")
}

fn main() {
    let python = Needs::programs(&["python3"]);
    testkit::run_trials(vec![
        trial(
            "hostile_results_files_are_refused_small",
            python,
            hostile_results_files_are_refused_small,
        ),
        trial(
            "a_long_load_allocates_as_it_goes_and_ctrl_c_reports",
            Needs::NOTHING,
            a_long_load_allocates_as_it_goes_and_ctrl_c_reports,
        ),
        trial(
            "serve_starts_programs_with_no_signal_blocked",
            python,
            serve_starts_programs_with_no_signal_blocked,
        ),
        trial(
            "run_starts_programs_with_no_signal_blocked",
            python,
            run_starts_programs_with_no_signal_blocked,
        ),
        trial("kill_9_of_serve_leaves_nothing", python, kill_9_of_serve_leaves_nothing),
        trial(
            "values_no_run_can_honour_are_refused_before_any_cell",
            Needs::NOTHING,
            values_no_run_can_honour_are_refused_before_any_cell,
        ),
        trial(
            "startup_failures_say_what_happened",
            python,
            startup_failures_say_what_happened,
        ),
        trial(
            "list_says_when_the_start_program_is_missing",
            Needs::NOTHING,
            list_says_when_the_start_program_is_missing,
        ),
        trial(
            "a_failed_hosts_run_leaves_no_ssh_directory",
            Needs::programs(&["ssh"]),
            a_failed_hosts_run_leaves_no_ssh_directory,
        ),
    ]);
}

/// `cmd`'s output and its own peak resident set, in kB (from wait4, so no other process counts).
fn output_and_peak(cmd: &mut Command) -> (Output, i64) {
    use std::io::Read;
    // Reaped by wait4 below, which also reads its peak memory.
    #[allow(clippy::zombie_processes)]
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut e = Vec::new();
        err.read_to_end(&mut e).unwrap();
        e
    });
    let mut stdout = Vec::new();
    out.read_to_end(&mut stdout).unwrap();
    let stderr = reader.join().unwrap();
    let mut status = 0;
    // SAFETY: wait4 fills the status and the rusage we own, for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32, "wait4");
    use std::os::unix::process::ExitStatusExt;
    let output = Output {
        status: std::process::ExitStatus::from_raw(status),
        stdout,
        stderr,
    };
    (output, usage.ru_maxrss)
}

/// A real results file: a tiny sweep of one strategy.
fn real_results() -> (tempfile::TempDir, PathBuf) {
    let bin = debug_bin("reuseport");
    let root = servers(&[("one", copy_of_reuseport("one"))]);
    let out = lbbench(root.path(), &bin, &["run", "-c", "tiny.toml", "--out", "res"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let file = root.path().join("res/results.json");
    (root, file)
}

fn hostile_results_files_are_refused_small() {
    let (root, file) = real_results();
    let crafted = root.path().join("crafted");
    std::fs::create_dir(&crafted).unwrap();
    let made = Command::new("python3")
        .arg(workspace().join("lbbench/tests/fixtures/hostile_results.py"))
        .arg(&file)
        .arg(&crafted)
        .status()
        .unwrap();
    assert!(made.success(), "crafting the files");
    for (name, reason) in [
        ("length-bomb.json", "payload declares 4294967295 bytes"),
        ("deflate-bomb.json", "inflates past"),
        (
            "wide-bounds.json",
            "bounds (1..4611686018427387904 at 5 significant figures)",
        ),
    ] {
        let path = crafted.join(name);
        let mut plot = Command::new(env!("CARGO_BIN_EXE_lbbench"));
        plot.arg("plot").arg(&path).arg("--out").arg(root.path().join("plot"));
        let mut compare = Command::new(env!("CARGO_BIN_EXE_lbbench"));
        compare.arg("compare").arg(&file).arg(&path);
        for (what, mut cmd) in [("plot", plot), ("compare", compare)] {
            let (out, peak_kb) = output_and_peak(&mut cmd);
            let err = text(&out.stderr);
            assert!(!out.status.success(), "{what} {name} was accepted");
            assert!(
                err.contains("cell 0 (one cores=1 keepalive)") && err.contains(reason),
                "{what} {name}: the cell and the reason: {err}"
            );
            assert!(peak_kb < RSS_LIMIT_KB, "{what} {name} peaked at {peak_kb} kB: {err}");
        }
    }
    // A file of a schema this lbbench does not know is refused by plot as by compare.
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    v["schema"] = 99.into();
    let future = crafted.join("future.json");
    std::fs::write(&future, v.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lbbench"))
        .arg("plot")
        .arg(&future)
        .output()
        .unwrap();
    assert!(
        !out.status.success() && text(&out.stderr).contains("has results schema 99"),
        "{}",
        text(&out.stderr)
    );
}

/// `lbbench load -d 24h` keeps no per-interval memory it has not filled: a few seconds of it
/// stay far below what 24 h of 1 s slots would take (1.75 GB before), and Ctrl-C ends the window
/// with the report of what was measured, and exit status 130.
fn a_long_load_allocates_as_it_goes_and_ctrl_c_reports() {
    let bin = debug_bin("reuseport").join("reuseport");
    let server = testkit::Running::start(bin.to_str().unwrap(), 1, &[]);
    let url = format!("http://127.0.0.1:{}/", server.port);
    let child = Command::new(env!("CARGO_BIN_EXE_lbbench"))
        .args(["load", &url, "-c", "4", "--threads", "1", "-d", "24h", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let answered = |s: &str| s.lines().any(|l| l.starts_with("VmHWM"));
    assert!(wait_for(Duration::from_secs(20), || answered(&status(pid))));
    std::thread::sleep(Duration::from_secs(3));
    let hwm_kb: i64 = status(pid)
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let out = output_of(child, Duration::from_secs(30));
    assert!(hwm_kb < RSS_LIMIT_KB, "lbbench load -d 24h peaked at {hwm_kb} kB");
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the partial report");
    let n = |k: &str| r[k].as_f64().unwrap_or_else(|| panic!("{k}: {r}"));
    assert!(
        r["interrupted"] == true && n("ok") > 0.0 && n("duration_s") > 0.0 && n("duration_s") < 3600.0,
        "{r}"
    );
    assert_eq!(
        n("sent"),
        n("requests") + n("errors") + n("in_flight_at_end"),
        "accounted when cut short: {r}"
    );
}

/// The output of a child already started, which must exit within `limit` (killed otherwise).
fn output_of(child: std::process::Child, limit: Duration) -> Output {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = done.clone();
    std::thread::spawn(move || {
        if !wait_for(limit, || flag.load(std::sync::atomic::Ordering::SeqCst)) {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
        }
    });
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    out
}

fn status(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default()
}

/// A layout with the signal-recording test strategy, writing to `mark`.
fn signals_strategy(mark: &Path, daemon: bool) -> tempfile::TempDir {
    let script = workspace().join("lbbench/tests/strategies/signals.py");
    let manifest = format!(
        "name = \"signals\"\ndescription = \"records its signal mask\"\nstart = \"python3 {} --port {{port}} --mark {}{}\"\n",
        script.display(),
        mark.display(),
        if daemon { " --daemon" } else { "" }
    );
    servers(&[("signals", manifest)])
}

/// The mark file's lines, once it has `want` of them.
fn marks(mark: &Path, want: &str) -> Vec<String> {
    wait_for(Duration::from_secs(30), || {
        std::fs::read_to_string(mark).is_ok_and(|t| t.contains(want))
    });
    std::fs::read_to_string(mark)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// Nothing blocked, SIGTERM not ignored (bit 14 of the mask is SIGTERM), and it saw SIGTERM.
fn assert_clean_signals(marks: &[String]) {
    let field = |name: &str| {
        let hex = marks
            .iter()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("{marks:?}"));
        u64::from_str_radix(hex.trim(), 16).unwrap()
    };
    assert_eq!(
        field("blocked "),
        0,
        "the strategy started with signals blocked: {marks:?}"
    );
    assert_eq!(field("ignored ") & (1 << 14), 0, "SIGTERM ignored: {marks:?}");
    assert!(marks.iter().any(|l| l == "term"), "it never saw SIGTERM: {marks:?}");
}

/// `lbbench serve signals` on a fresh port, once it answers.
fn serving(root: &tempfile::TempDir) -> std::process::Child {
    let port = lbproc::ports::free_block(1).unwrap();
    let serve = Command::new(env!("CARGO_BIN_EXE_lbbench"))
        .args(["serve", "signals", "--port", &port.to_string(), "--servers"])
        .arg(root.path().join("servers"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(
        wait_for(Duration::from_secs(30), || testkit::get_close(port).is_ok()),
        "never served"
    );
    serve
}

fn serve_starts_programs_with_no_signal_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("mark");
    let root = signals_strategy(&mark, false);
    let mut serve = serving(&root);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(serve.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = serve.wait().unwrap();
    assert_eq!(status.code(), Some(0), "serve stops cleanly on SIGTERM");
    assert_clean_signals(&marks(&mark, "term"));
}

fn run_starts_programs_with_no_signal_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("mark");
    let root = signals_strategy(&mark, false);
    let bin = debug_bin("reuseport");
    let out = lbbench(root.path(), &bin, &["run", "-c", "tiny.toml", "--out", "res"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // One core count: the strategy is started once for both workloads (the alternate design keeps
    // it resident), and that start's stop is recorded.
    let lines = marks(&mark, "term");
    assert_clean_signals(&lines);
    assert_eq!(lines.iter().filter(|l| *l == "term").count(), 1, "{lines:?}");
}

fn kill_9_of_serve_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("mark");
    let root = signals_strategy(&mark, true);
    let mut serve = serving(&root);
    let daemon: u32 = marks(&mark, "daemon")
        .iter()
        .find_map(|l| l.strip_prefix("daemon "))
        .and_then(|p| p.parse().ok())
        .unwrap();
    let procs: Vec<u32> = testkit::descendants(serve.id()).into_iter().chain([daemon]).collect();
    serve.kill().unwrap();
    serve.wait().unwrap();
    let cleared = wait_for(Duration::from_secs(20), || procs.iter().all(|p| gone(*p)));
    assert!(
        cleared,
        "left behind after kill -9 of lbbench serve: {:?}",
        procs.iter().filter(|p| !gone(**p)).collect::<Vec<_>>()
    );
}

/// Each profile is refused before any cell, naming the key and the limit.
fn values_no_run_can_honour_are_refused_before_any_cell() {
    let bin = debug_bin("reuseport");
    let root = servers(&[("one", copy_of_reuseport("one"))]);
    std::fs::write(root.path().join("a-file"), "").unwrap();
    let cases = [
        (
            load("request_timeout = \"0s\"\n"),
            vec![],
            "load.request_timeout must be positive",
        ),
        (
            format!("{}[server]\nready_timeout = \"0s\"\n", load("")),
            vec![],
            "server.ready_timeout must be positive",
        ),
        (
            load("").replace("\"300ms\"", "\"100000000000h\""),
            vec![],
            "load.duration = ",
        ),
        (
            load("").replace("connections = 4", "connections = 10000000"),
            vec![],
            "load.connections: 10000000 connections need",
        ),
        (
            load(""),
            vec!["--out", "a-file/res"],
            "results cannot be written to a-file/res",
        ),
    ];
    for (profile, extra, want) in cases {
        std::fs::write(root.path().join("p.toml"), format!("{SHORT}{profile}")).unwrap();
        let mut args = vec!["run", "-c", "p.toml", "--no-build"];
        args.extend(extra.iter().copied());
        if !args.contains(&"--out") {
            args.extend(["--out", "res"]);
        }
        let out = lbbench(root.path(), &bin, &args);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{profile:?} was accepted");
        assert!(err.contains(want), "{profile:?}: {err}");
        assert!(!err.contains("cores=1"), "{profile:?}: a cell ran: {err}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_lbbench"))
        .args(["load", "http://127.0.0.1:9/", "--timeout", "0s", "-d", "1s"])
        .output()
        .unwrap();
    assert!(
        !out.status.success() && text(&out.stderr).contains("timeout must be positive"),
        "{}",
        text(&out.stderr)
    );
}

/// Three broken strategies, each failing its cells with what it did.
fn startup_failures_say_what_happened() {
    let bin = debug_bin("reuseport");
    let script = workspace().join("lbbench/tests/strategies/unanswering.py");
    let manifest =
        |name: &str, start: String| format!("name = \"{name}\"\ndescription = \"broken\"\nstart = \"{start}\"\n");
    let root = servers(&[
        ("exits", manifest("exits", "sh -c 'exit 3'".into())),
        (
            "silent",
            manifest(
                "silent",
                format!("python3 {} --port {{port}} --mode silent", script.display()),
            ),
        ),
        (
            "garbled",
            manifest(
                "garbled",
                format!("python3 {} --port {{port}} --mode garbled", script.display()),
            ),
        ),
    ]);
    // Each broken strategy is waited for the whole ready_timeout: long enough that a Python that is
    // slow to start on a busy machine (3 s was once too little, beside a pinned sweep) has bound its
    // port and shows what it does.
    let profile = format!(
        "{SHORT}{}[server]\nready_timeout = \"10s\"\nstop_grace = \"1s\"\n",
        load("")
    );
    std::fs::write(root.path().join("p.toml"), profile).unwrap();
    let out = lbbench(root.path(), &bin, &["run", "-c", "p.toml", "--out", "res"]);
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.path().join("res/results.json")).unwrap()).unwrap();
    let error = |s: &str| {
        r["failures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["strategy"] == s)
            .map(|f| f["error"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert!(error("exits").contains("exited with status 3"), "{}", error("exits"));
    assert!(error("silent").contains("sent no answer within"), "{}", error("silent"));
    assert!(
        error("garbled").contains("not an HTTP response: its status line"),
        "{}",
        error("garbled")
    );
    assert!(!out.status.success(), "every cell failed");
}

fn list_says_when_the_start_program_is_missing() {
    let bin = debug_bin("reuseport");
    let root = servers(&[
        ("unbuilt", "name = \"unbuilt\"\ndescription = \"d\"\nbuild = \"true\"\nstart = \"{bin}/no-such-program --port {port}\"\n".into()),
        ("absent", "name = \"absent\"\ndescription = \"d\"\nstart = \"no-such-program-anywhere --port {port}\"\n".into()),
    ]);
    let out = lbbench(root.path(), &bin, &["list"]);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("available once built: ") && stdout.contains("no-such-program does not exist yet"),
        "{stdout}"
    );
    assert!(
        stdout.contains("unavailable: its start program no-such-program-anywhere is not there"),
        "{stdout}"
    );
}

fn a_failed_hosts_run_leaves_no_ssh_directory() {
    let bin = debug_bin("reuseport");
    let root = servers(&[("one", copy_of_reuseport("one"))]);
    let profile = "[hosts]\nserver = \"no-such-host.invalid\"\nload = [\"no-such-host.invalid\"]\n";
    std::fs::write(root.path().join("p.toml"), profile).unwrap();
    let tmp = root.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_lbbench"))
        .args(["run", "-c", "p.toml", "--no-build", "--servers"])
        .arg(root.path().join("servers"))
        .arg("--bin")
        .arg(&bin)
        .current_dir(root.path())
        .env("TMPDIR", &tmp)
        .output()
        .unwrap();
    assert!(!out.status.success(), "{}", text(&out.stderr));
    let left: Vec<_> = std::fs::read_dir(&tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        left.is_empty(),
        "left in TMPDIR after a failed [hosts] run: {left:?} ({})",
        text(&out.stderr)
    );
}

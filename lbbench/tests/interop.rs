//! Real HTTP clients nobody on this project wrote (ApacheBench, h2load, curl, wrk) against every
//! strategy under servers/, each started with 2 workers by `lbbench serve` — the way a user points
//! their own tools at one. One test per (strategy, client): it needs the client program and the
//! strategy's availability (`lbbench list`); outside CI a missing one is reported ignored, in CI
//! it fails. Root-only strategies run with their client inside a private network namespace.
//! A trial checks what the client got, not how fast: four run at a time.

mod common;

use common::{all_debug_bins, strategies, workspace, workspace_lbbench};
use std::path::Path;
use std::time::Duration;
use testkit::{output_within, trial_unless};

/// Start, client run and stop together; every client below also has its own timeout.
const LIMIT: Duration = Duration::from_secs(40);

struct Client {
    name: &'static str,
    program: &'static str,
    /// The Debian package providing it.
    package: &'static str,
    /// The command line, given the strategy's URL.
    argv: fn(&str) -> Vec<String>,
    /// Judges what the client printed (stdout and stderr together).
    check: fn(&str) -> Result<(), String>,
}

fn words(s: &str, url: &str) -> Vec<String> {
    s.split_whitespace()
        .map(|w| if w == "URL" { url.to_string() } else { w.to_string() })
        .collect()
}

const CLIENTS: [Client; 8] = [
    Client {
        name: "ab",
        program: "ab",
        package: "apache2-utils",
        argv: |u| words("ab -s 10 -n 2000 -c 4 URL", u),
        check: |out| ab(out, false),
    },
    Client {
        name: "ab_keepalive",
        program: "ab",
        package: "apache2-utils",
        argv: |u| words("ab -s 10 -k -n 2000 -c 4 URL", u),
        check: |out| ab(out, true),
    },
    Client {
        name: "h2load_h1_pipelined",
        program: "h2load",
        package: "nghttp2-client",
        argv: |u| words("h2load --h1 -n 10000 -c 8 -m 8 URL", u),
        check: h2load,
    },
    Client {
        name: "curl_http10",
        program: "curl",
        package: "curl",
        argv: |u| curl("--http1.0", u),
        check: |out| curl_runs(out, &[1, 1]),
    },
    Client {
        name: "curl_http11",
        program: "curl",
        package: "curl",
        // Two URLs, one connection: the second request reuses it (0 new connections).
        argv: |u| curl("--http1.1", u),
        check: |out| curl_runs(out, &[1, 0]),
    },
    Client {
        name: "curl_http11_close",
        program: "curl",
        package: "curl",
        argv: |u| curl("--http1.1 -H Connection:close", u),
        check: |out| curl_runs(out, &[1, 1]),
    },
    Client {
        // Not a tool's protocol check but the service-time convention, through every strategy:
        // 30 ms of blocking and 20 ms of CPU take at least that long, a malformed spec gets 400.
        name: "service_time",
        program: "curl",
        package: "curl",
        argv: |u| {
            let mut a = curl_timed();
            a.extend([
                format!("{u}?block=30ms"),
                format!("{u}?cpu=20ms"),
                format!("{u}?cpu=lots"),
            ]);
            a
        },
        check: service_time,
    },
    Client {
        name: "wrk",
        program: "wrk",
        package: "wrk",
        argv: |u| words("wrk -t 2 -c 4 -d 1s --timeout 5s URL", u),
        check: wrk,
    },
];

fn main() {
    let bin = all_debug_bins();
    let mut trials = Vec::new();
    // The strategies with their own workers: what a client sees of a pair's HTTP is its worker's
    // (Node's, behind the same balancer), which these clients do not need to try again and again.
    for (strategy, unavailable) in strategies(&bin).into_iter().filter(|(n, _)| !n.contains('+')) {
        for client in &CLIENTS {
            let unmet = match (&unavailable, testkit::which(client.program)) {
                (Some(why), _) => Some(format!("{strategy}: {why}")),
                (None, None) => Some(format!(
                    "needs {} on PATH (Debian package {})",
                    client.program, client.package
                )),
                (None, Some(_)) => None,
            };
            let (bin, strategy) = (bin.clone(), strategy.clone());
            let (argv, check) = (client.argv, client.check);
            trials.push(trial_unless(format!("{}::{strategy}", client.name), unmet, move || {
                against(&bin, &strategy, argv, check)
            }));
        }
    }
    let b = bin.clone();
    trials.push(testkit::trial(
        "serve_in_the_foreground_stops_on_sigterm",
        testkit::Needs::NOTHING,
        move || serve_stops_on_sigterm(&b),
    ));
    testkit::run_trials_at_once(trials, 4);
}

/// Without a command, `lbbench serve` serves until SIGTERM, then leaves nothing behind.
fn serve_stops_on_sigterm(bin: &Path) {
    let port = lbproc::ports::free_block(2).unwrap();
    let mut serve = workspace_lbbench(
        bin,
        &workspace(),
        &["serve", "reuseport", "--workers", "2", "--port", &port.to_string()],
    )
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let answered = testkit::wait_for(Duration::from_secs(15), || {
        testkit::get_close(port).is_ok_and(|r| r.ends_with("Hello World"))
    });
    // The first worker may answer before the master has forked the second. Below the process
    // started, the one that serves (it relays signals to it), the master and its 2 workers.
    let mut procs = Vec::new();
    testkit::wait_for(Duration::from_secs(20), || {
        procs = testkit::descendants(serve.id());
        procs.len() >= 4
    });
    let pid = nix::unistd::Pid::from_raw(serve.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let mut status = None;
    let exited = testkit::wait_for(Duration::from_secs(20), || {
        status = serve.try_wait().unwrap();
        status.is_some()
    });
    if !exited {
        let _ = serve.kill();
        let _ = serve.wait();
    }
    assert!(answered, "lbbench serve never answered on port {port}");
    assert_eq!(procs.len(), 4, "the serving lbbench, a master and 2 workers: {procs:?}");
    assert!(exited, "still running 20 s after SIGTERM");
    assert_eq!(status.and_then(|s| s.code()), Some(0), "a clean exit on SIGTERM");
    assert!(
        testkit::wait_for(Duration::from_secs(20), || procs.iter().all(|p| testkit::gone(*p))),
        "left behind: {procs:?}"
    );
}

/// `lbbench serve STRATEGY --workers 2 -- CLIENT...` within [`LIMIT`]; the client must exit 0
/// and its output pass `check`.
fn against(bin: &Path, strategy: &str, argv: fn(&str) -> Vec<String>, check: fn(&str) -> Result<(), String>) {
    let port = lbproc::ports::free_block(2).unwrap();
    let client = argv(&format!("http://127.0.0.1:{port}/"));
    let port = port.to_string();
    let mut args = vec![
        "serve",
        strategy,
        "--workers",
        "2",
        "--port",
        &port,
        "--stop-grace",
        "1s",
        "--",
    ];
    args.extend(client.iter().map(String::as_str));
    let out = output_within(&mut workspace_lbbench(bin, &workspace(), &args), LIMIT).unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "{strategy}: {} failed ({}):\n{text}",
        client[0],
        out.status
    );
    if let Err(why) = check(&text) {
        panic!("{strategy}: {}: {why}\n{text}", client.join(" "));
    }
}

/// curl printing "<status> <seconds>" for each of three URLs (one `-o` per URL drops its body).
fn curl_timed() -> Vec<String> {
    let mut a: Vec<String> = ["curl", "-sS", "--max-time", "10", "-w", "%{http_code} %{time_total}\n"]
        .map(String::from)
        .to_vec();
    for _ in 0..3 {
        a.extend(["-o".to_string(), "/dev/null".to_string()]);
    }
    a
}

fn service_time(out: &str) -> Result<(), String> {
    let runs: Vec<(u16, f64)> = out
        .lines()
        .filter_map(|l| {
            let (code, secs) = l.split_once(' ')?;
            Some((code.parse().ok()?, secs.trim().parse().ok()?))
        })
        .collect();
    match runs.as_slice() {
        [(200, block), (200, cpu), (400, _)] if *block >= 0.030 && *cpu >= 0.020 => Ok(()),
        _ => Err(format!(
            "want 200 after ≥ 30 ms, 200 after ≥ 20 ms, then 400; got {runs:?}"
        )),
    }
}

/// The number after `label` on the line that starts with it, e.g. "Failed requests:   0".
fn field(out: &str, label: &str) -> Option<u64> {
    out.lines()
        .find_map(|l| l.trim_start().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

fn expect(out: &str, label: &str, want: u64) -> Result<(), String> {
    match field(out, label) {
        Some(n) if n == want => Ok(()),
        got => Err(format!("{label} {got:?}, want {want}")),
    }
}

fn ab(out: &str, keepalive: bool) -> Result<(), String> {
    expect(out, "Complete requests:", 2000)?;
    expect(out, "Failed requests:", 0)?;
    if out.contains("Non-2xx responses") {
        return Err("non-2xx responses".into());
    }
    // -k must reuse connections: every request on a kept-alive one. Without -k, ab says nothing.
    match keepalive {
        true => expect(out, "Keep-Alive requests:", 2000),
        false => Ok(()),
    }
}

fn h2load(out: &str) -> Result<(), String> {
    let want = "requests: 10000 total, 10000 started, 10000 done, 10000 succeeded, 0 failed, 0 errored, 0 timeout";
    if !out.contains(want) {
        return Err(format!("want {want:?}"));
    }
    match out.contains("status codes: 10000 2xx,") {
        true => Ok(()),
        false => Err("want status codes: 10000 2xx".into()),
    }
}

fn wrk(out: &str) -> Result<(), String> {
    let served = out
        .lines()
        .find_map(|l| l.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.parse::<u64>().ok());
    if served.unwrap_or(0) == 0 {
        return Err("no \"N requests in\" line with N > 0".into());
    }
    for bad in ["Socket errors", "Non-2xx or 3xx responses"] {
        if out.contains(bad) {
            return Err(format!("wrk reported {bad}"));
        }
    }
    Ok(())
}

/// Two requests in one curl run; each prints a line `<body> <status> <new connections>`.
fn curl(options: &str, url: &str) -> Vec<String> {
    let mut argv = words("curl -sS --max-time 10", url);
    argv.extend(options.split_whitespace().map(String::from));
    argv.extend([
        "-w".into(),
        " %{http_code} %{num_connects}\\n".into(),
        url.into(),
        url.into(),
    ]);
    argv
}

fn curl_runs(out: &str, connects: &[u64]) -> Result<(), String> {
    let want: Vec<String> = connects.iter().map(|c| format!("Hello World 200 {c}")).collect();
    let got: Vec<&str> = out.lines().filter(|l| l.starts_with("Hello World")).collect();
    if got != want {
        return Err(format!("want lines {want:?}"));
    }
    Ok(())
}

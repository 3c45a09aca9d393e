//! One measured cell (strategy × cores × workload × repeat), run in a child process of lbbench
//! (`lbbench cell`, spec on stdin, result on stdout) so that, as root, it lives in namespaces of
//! its own and everything it started dies with it.

use crate::fault;
use crate::netns;
use crate::sandbox;
use crate::server::Server;
use anyhow::{bail, Context, Result};
use model::cell::{CellResult, Fairness, Readiness, Timings};
use model::network::Link;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Parent side: runs `spec` in a confined child process of this executable and returns its result.
pub fn run_in_child(spec: &CellSpec) -> Result<CellResult> {
    // This very executable, even if a rebuild has replaced the file since the sweep began (its
    // path would then name the new binary, or nothing while the linker writes it).
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg("cell")
        .env(crate::guard::CELL_DIR_ENV, &spec.run_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    sandbox::confine(&mut cmd, spec.isolated);
    let mut child = cmd.spawn().context("starting the cell process")?;
    let stdin = child.stdin.take().expect("piped stdin");
    serde_json::to_writer(stdin, spec)?;
    // Every phase of a cell is bounded; should one wedge anyway, the sweep still goes on.
    let limit = spec.time_limit();
    let (pid, finished) = (child.id() as i32, Arc::new(AtomicBool::new(false)));
    let watchdog = crate::guard::watchdog(pid, limit, finished.clone());
    // Reads stdout and stderr together, so neither pipe can fill up and stall the cell.
    let out = child.wait_with_output();
    finished.store(true, Ordering::SeqCst);
    if watchdog.join().unwrap_or(false) {
        bail!("the cell did not finish within {limit:?} and was killed");
    }
    let out = out?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("{}", stderr.trim());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).with_context(|| format!("reading the cell's result: {stderr}"))
}

/// Child side (`lbbench cell`): reads the spec from stdin, runs it, prints the result; a guard
/// process stays above it to stop whatever it leaves behind.
pub fn main() -> Result<()> {
    crate::guard::split()?;
    if let Err(e) = child_main() {
        // The parent shows this text as the cell's error; keep it a message, not a backtrace.
        eprintln!("{e:#}");
        std::process::exit(1);
    }
    Ok(())
}

fn child_main() -> Result<()> {
    // Orphans of the strategy stay below the cell: counted as its processes, and stopped with it.
    crate::procs::become_subreaper()?;
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input)?;
    let spec: CellSpec = serde_json::from_str(&input).context("reading the cell spec")?;
    let result = run(&spec)?;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &result)?;
    out.flush()?;
    Ok(())
}

fn run(spec: &CellSpec) -> Result<CellResult> {
    let started_at = crate::clock::now();
    let mut launch = spec.launch.clone();
    sandbox::prepare(&mut launch, spec.isolated)?;
    // Before the strategy starts: it listens on the server's end of the link.
    let client_netns = match spec.network.topology {
        Link::Veth => Some(netns::client(spec.network.rtt).context("linking the client's network namespace")?),
        Link::Loopback => None,
    };
    let log = spec.run_dir.join("server.log");
    let mut timings = Timings::default();
    let mut lap = Lap(Instant::now());
    let mut server = Server::spawn(&launch, &spec.cwd, &spec.server_cpus, log)?;
    let measured = server
        .wait_ready(spec.addr(), spec.server.ready_timeout, spec.workers)
        .and_then(|ready| {
            timings.ready_s = lap.split();
            let injector = match &spec.fault {
                Some(f) => Some(fault::inject::Injector::arm(
                    f,
                    fault::inject::FaultTarget {
                        server: server.pid(),
                        workers: spec.workers,
                        window: spec.load.duration,
                        launch: launch.clone(),
                        cwd: spec.cwd.clone(),
                        run_dir: spec.run_dir.clone(),
                    },
                )?),
                None => None,
            };
            let mut here = Here {
                spec,
                server: &server,
                netns: client_netns.as_ref(),
            };
            Ok((ready, measure(spec, &mut here, injector, &mut timings, &mut lap)?))
        });
    lap.split();
    server.stop(spec.server.stop_grace);
    timings.stop_s = lap.split();
    let (readiness, measurement) = measured?;
    Ok(result(spec, readiness, started_at, measurement, timings))
}

/// The cell's record from what was measured.
pub fn result(
    spec: &CellSpec,
    readiness: Readiness,
    started_at: String,
    measurement: Measurement,
    timings: Timings,
) -> CellResult {
    let (report, open_loop, capacity, fault) = measurement;
    CellResult {
        strategy: spec.strategy.clone(),
        cores: spec.cores,
        workload: spec.workload.clone(),
        repeat: spec.repeat,
        workers: spec.workers,
        server_cpus: spec.server_cpus.clone(),
        client_cpus: spec.client_cpus.clone(),
        placement: Default::default(),
        shared_cpus: spec.shared_cpus(),
        isolated: spec.isolated,
        readiness,
        started_at,
        fairness: Fairness::of(&report.load.per_worker, spec.workers),
        cpu: Some(report.cpu),
        bottleneck: Some(report.bottleneck),
        capacity,
        timings,
        warmup_s: spec.load.warmup.as_secs_f64(),
        fault,
        load: report.load,
        load_hosts: report.hosts,
        open_loop,
    }
}

mod measure;
mod spec;

pub use measure::{measure, Drive, Here, Lap, Measured, Measurement};
pub use spec::CellSpec;

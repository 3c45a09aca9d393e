//! One measured cell (strategy × cores × workload × repeat), run in a child process of lbbench
//! (`lbbench cell`, spec on stdin, result on stdout) so that, as root, it lives in namespaces of
//! its own and everything it started dies with it.

use crate::capacity::{Capacity, SloConfig};
use crate::config;
use crate::cpu::{Bottleneck, CpuReport};
use crate::fault::{self, FaultConfig, FaultReport};
use crate::load::LoadReport;
use crate::manifest::Launch;
use crate::netns::{self, NetworkConfig, Topology};
use crate::remote::HostFigures;
use crate::report::Fairness;
use crate::sandbox;
use crate::server::{Readiness, Server};
use crate::workload::{Workload, WorkloadSpec};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellSpec {
    pub strategy: String,
    pub cores: usize,
    pub workload: Workload,
    /// What that workload asks for.
    pub workload_spec: WorkloadSpec,
    pub repeat: usize,
    pub workers: usize,
    pub launch: Launch,
    pub cwd: PathBuf,
    pub run_dir: PathBuf,
    pub port: u16,
    /// Where the strategy listens and the client connects: 127.0.0.1, the server's end of the
    /// veth link, or the server host's address.
    #[serde(default = "localhost")]
    pub host: IpAddr,
    /// How the client reaches the server on one machine.
    #[serde(default)]
    pub network: NetworkConfig,
    pub isolated: bool,
    pub server_cpus: Vec<usize>,
    pub client_cpus: Vec<usize>,
    pub load: config::LoadConfig,
    pub server: config::ServerConfig,
    /// The capacity search (first repeat only), when `slo.p99` is set.
    #[serde(default)]
    pub slo: SloConfig,
    /// A fault injected into the closed-loop run, when the profile has one.
    #[serde(default)]
    pub fault: Option<FaultConfig>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CellResult {
    pub strategy: String,
    pub cores: usize,
    pub workload: Workload,
    pub repeat: usize,
    pub workers: usize,
    pub server_cpus: Vec<usize>,
    pub client_cpus: Vec<usize>,
    /// The server's and the client's CPUs with their physical core and NUMA node (set by the sweep).
    #[serde(default)]
    pub placement: crate::topology::CellPlacement,
    /// Client and server had to share CPUs: the figure mixes their costs and depends on scheduler
    /// placement; it is not comparable with dedicated-CPU cells.
    pub shared_cpus: bool,
    /// Ran in a private network namespace.
    pub isolated: bool,
    /// Whether every worker was serving before the load began.
    #[serde(default)]
    pub readiness: crate::server::Readiness,
    /// When the cell started (RFC 3339, UTC).
    #[serde(default)]
    pub started_at: String,
    /// How evenly the workers shared the responses (over all `workers`, silent ones included).
    #[serde(default)]
    pub fairness: Fairness,
    /// The strategy's CPU time over the measured window, and how busy its CPUs were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuReport>,
    /// Who limited the throughput: server, client, shared (same CPUs) or neither.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottleneck: Option<Bottleneck>,
    /// The highest open-loop rate meeting the latency objective (first repeat, when searched).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<Capacity>,
    /// Where the cell's time went.
    #[serde(default)]
    pub timings: Timings,
    /// The closed-loop warm-up it got: the profile's, or the strategy's own if longer (s).
    #[serde(default)]
    pub warmup_s: f64,
    /// What the fault cost (the closed-loop run of a profile with a `[fault]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultReport>,
    #[serde(flatten)]
    pub load: LoadReport,
    /// With load hosts: each host's own figures (its share of the load, histograms, client CPU).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_hosts: Vec<HostFigures>,
    /// Latency under load: open-loop runs at fractions of `load.rps`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_loop: Vec<OpenLoopPoint>,
}

/// One open-loop run at `fraction` of the cell's closed-loop maximum.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OpenLoopPoint {
    pub fraction: f64,
    /// At this load, how evenly the workers shared the responses: at low load one worker of a
    /// shared socket may take nearly everything.
    #[serde(default)]
    pub fairness: Fairness,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<CpuReport>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottleneck: Option<Bottleneck>,
    #[serde(flatten)]
    pub load: LoadReport,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load_hosts: Vec<HostFigures>,
}

fn localhost() -> IpAddr {
    Ipv4Addr::LOCALHOST.into()
}

impl CellSpec {
    /// The strategy's public address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    pub fn shared_cpus(&self) -> bool {
        self.client_cpus.iter().any(|c| self.server_cpus.contains(c))
    }

    /// The longest a cell can legitimately take, with a generous margin.
    pub fn time_limit(&self) -> Duration {
        let (l, s) = (&self.load, &self.server);
        let closed = l.warmup + l.duration + l.request_timeout;
        let open = (l.open_loop_warmup + l.open_loop_duration + l.request_timeout) * l.open_loop.len() as u32;
        let search = if self.slo.p99.is_some() {
            self.slo.time_limit(l.request_timeout)
        } else {
            Duration::ZERO
        };
        s.ready_timeout + closed + open + search + s.stop_grace * 2 + Duration::from_secs(30)
    }
}

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
    let started_at = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let mut launch = spec.launch.clone();
    sandbox::prepare(&mut launch, spec.isolated)?;
    // Before the strategy starts: it listens on the server's end of the link.
    let client_netns = match spec.network.topology {
        Topology::Veth => Some(netns::client(spec.network.rtt).context("linking the client's network namespace")?),
        Topology::Loopback => None,
    };
    let log = spec.run_dir.join("server.log");
    let mut timings = Timings::default();
    let mut lap = Lap(Instant::now());
    let mut server = Server::spawn(&launch, &spec.cwd, &spec.server_cpus, log)?;
    let measured = server
        .wait_ready(spec.addr(), spec.server.ready_timeout, spec.workers)
        .and_then(|ready| {
            timings.ready_s = lap.split();
            let injector = fault::inject::Injector::for_cell(spec, server.pid(), &launch)?;
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

pub use measure::{measure, Drive, Here, Lap, Measured, Measurement, Timings};

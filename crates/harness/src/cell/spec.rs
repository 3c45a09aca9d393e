//! What a cell is asked: the strategy to keep running ([`CellSpec`], sent once as its process
//! starts) and each window to measure of it ([`Window`], one per line after).

use crate::manifest::Launch;
use model::config;
use model::fault::FaultConfig;
use model::network::NetworkConfig;
use model::noise::NoiseConfig;
use model::slo::SloConfig;
use model::workload::{Workload, WorkloadSpec};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CellSpec {
    pub strategy: String,
    /// The worker program it runs (see `Strategy::worker_name`).
    pub worker: String,
    /// Its workers alone serve (see `WorkerNeed::alone`).
    pub baseline: bool,
    pub cores: usize,
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
    /// The profile's load; its warm-up is every window's.
    pub load: config::LoadConfig,
    /// The first window after the start warms up at least this long (a JIT's manifest asks).
    #[serde(default)]
    pub startup_warmup: Duration,
    pub server: config::ServerConfig,
    /// The capacity search (first round only), when `slo.p99` is set.
    #[serde(default)]
    pub slo: SloConfig,
    /// A fault injected into the closed-loop run, when the profile has one.
    #[serde(default)]
    pub fault: Option<FaultConfig>,
    /// When a window is spoiled, and how often it is taken again.
    #[serde(default)]
    pub noise: NoiseConfig,
}

/// One window to measure of a running cell: a closed-loop run, and what goes with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Window {
    pub workload: Workload,
    /// What that workload asks for.
    pub workload_spec: WorkloadSpec,
    /// The round; the first also measures the open-loop steps and the capacity.
    pub repeat: usize,
    /// An open-loop window at this rate too (req/s): the same for every strategy of the group.
    pub common_rate: Option<f64>,
    /// Whether the closed loop (and what goes with it) is measured; without it, only the window
    /// at the common rate.
    pub closed: bool,
}

fn localhost() -> IpAddr {
    Ipv4Addr::LOCALHOST.into()
}

/// Room beyond each bounded phase before a cell is taken as wedged.
const MARGIN: Duration = Duration::from_secs(30);

impl CellSpec {
    /// The strategy's public address.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// The ports the strategy listens on: the public one and, for a strategy that fronts its
    /// workers, one per worker after it.
    pub fn ports(&self) -> std::ops::RangeInclusive<u16> {
        lbproc::ports::block(self.port, self.workers)
    }

    pub fn shared_cpus(&self) -> bool {
        self.client_cpus.iter().any(|c| self.server_cpus.contains(c))
    }

    /// The longest starting the strategy can legitimately take, with a generous margin.
    pub fn start_limit(&self) -> Duration {
        self.server.ready_timeout + MARGIN
    }

    /// The longest stopping it can take.
    pub fn stop_limit(&self) -> Duration {
        self.server.stop_grace * 2 + MARGIN
    }

    /// The longest a window can legitimately take, redone as often as allowed.
    pub fn window_limit(&self, w: &Window) -> Duration {
        let l = &self.load;
        let tries = 1 + self.noise.redo as u32;
        let closed = l.warmup.max(self.startup_warmup) + l.duration + l.request_timeout;
        let step = l.open_loop_warmup + l.open_loop_duration + l.request_timeout;
        let steps = if w.repeat == 0 && w.closed {
            l.open_loop.len() as u32
        } else {
            0
        } + u32::from(w.common_rate.is_some());
        let search = if self.slo.p99.is_some() && w.repeat == 0 {
            self.slo.time_limit(l.request_timeout)
        } else {
            Duration::ZERO
        };
        (closed + step * steps) * tries + search + MARGIN
    }

    /// The longest one cell can take from start to stop with a single window (load hosts).
    pub fn time_limit(&self, w: &Window) -> Duration {
        self.start_limit() + self.window_limit(w) + self.stop_limit()
    }
}

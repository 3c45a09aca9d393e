//! What a cell is asked to measure: the parent sends it to the cell's process as JSON.

use crate::manifest::Launch;
use model::config;
use model::fault::FaultConfig;
use model::network::NetworkConfig;
use model::slo::SloConfig;
use model::workload::{Workload, WorkloadSpec};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

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

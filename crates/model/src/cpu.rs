//! What the server's CPU did over a measured window, and who limited the throughput.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A CPU at or above this share of busy time is saturated.
pub const BUSY: f64 = 0.90;

/// CPU time by program over a window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramCpu {
    pub program: String,
    pub cpu_s: f64,
    /// Of the strategy's CPU time.
    pub share: f64,
}

/// What the server's CPU did over one measured window, and who was the bottleneck.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CpuReport {
    pub window_s: f64,
    /// CPU time of every process of the strategy, user and system.
    pub server_user_s: f64,
    pub server_system_s: f64,
    pub by_program: Vec<ProgramCpu>,
    /// Server CPU time per 2xx response, in µs: valid whoever limited the rate.
    pub server_cpu_us_per_request: f64,
    /// The strategy's CPU time as a share of its budget (cores × window).
    pub server_cpu_util: f64,
    /// 2xx responses per second of server CPU time.
    pub requests_per_cpu_second: f64,
    /// Busy share of each server CPU (softirq, kernel threads and anything else running there
    /// included), by CPU number.
    #[serde(with = "crate::serde_keys")]
    pub server_cpus_busy: BTreeMap<usize, f64>,
    /// What the machine did to the window besides the load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noise: Option<crate::noise::Noise>,
}

impl CpuReport {
    /// The mean busy share of the server's CPUs.
    pub fn server_cpus_util(&self) -> f64 {
        let n = self.server_cpus_busy.len().max(1) as f64;
        self.server_cpus_busy.values().sum::<f64>() / n
    }
}

/// Who limited a cell's throughput.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Bottleneck {
    /// The server's CPUs were ≥ 90 % busy.
    Server,
    /// A client CPU was ≥ 90 % busy (or a client thread never waited on the server).
    Client,
    /// Client and server ran on the same CPUs: neither side can be blamed alone.
    Shared,
    /// Both below: latency- or connection-bound.
    Neither,
}

crate::names::display_as_serde!(Bottleneck);

impl Bottleneck {
    /// The client is the limit when its busiest thread never waited on the server (on a CPU or
    /// in the run queue ≥ 90 % of the window): that stays true on a loaded machine, where a
    /// client CPU can be busy with other work while the client itself waits. A saturated client
    /// limits what can be seen of the server even when the server is busy too.
    pub fn judge(shared_cpus: bool, client_saturated: bool, server_cpus_util: f64) -> Bottleneck {
        if shared_cpus {
            Bottleneck::Shared
        } else if client_saturated {
            Bottleneck::Client
        } else if server_cpus_util >= BUSY {
            Bottleneck::Server
        } else {
            Bottleneck::Neither
        }
    }
}

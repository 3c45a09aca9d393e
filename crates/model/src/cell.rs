//! One measured cell (strategy × cores × workload × repeat) as results.json keeps it.

use crate::cpu::{Bottleneck, CpuReport};
use crate::fault::FaultReport;
use crate::load::LoadReport;
use crate::load_host::HostFigures;
use crate::slo::Capacity;
use crate::workload::Workload;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CellResult {
    pub strategy: String,
    /// The worker program that answered (`hello`, `node`...); empty in results from before
    /// schema 4, which did not record it.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub worker: String,
    /// Its workers alone serve (the kernel balances them): its CPU per request is the worker's
    /// own, what the other strategies with this worker are measured against.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baseline: bool,
    pub cores: usize,
    pub workload: Workload,
    pub repeat: usize,
    pub workers: usize,
    pub server_cpus: Vec<usize>,
    pub client_cpus: Vec<usize>,
    /// The server's and the client's CPUs with their physical core and NUMA node (set by the sweep).
    #[serde(default)]
    pub placement: crate::placement::CellPlacement,
    /// Client and server had to share CPUs: the figure mixes their costs and depends on scheduler
    /// placement; it is not comparable with dedicated-CPU cells.
    pub shared_cpus: bool,
    /// Ran in a private network namespace.
    pub isolated: bool,
    /// Whether every worker was serving before the load began.
    #[serde(default)]
    pub readiness: Readiness,
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
    /// p99 under the same offered load as every strategy of its group: an open-loop window at
    /// `load.common_rate` of the group's slowest closed-loop maximum (rounds after the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_rate: Option<OpenLoopPoint>,
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

impl OpenLoopPoint {
    /// Why the machine spoiled the window kept for this step (steal or other work over
    /// `threshold`, even after its redos), if it did.
    pub fn spoiled(&self, threshold: f64) -> Option<String> {
        self.cpu.as_ref()?.noise.as_ref()?.spoiled(threshold)
    }
}

/// Seconds each phase of a cell took: where the time of a sweep goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Timings {
    /// From starting the strategy until every worker served.
    pub ready_s: f64,
    /// The closed-loop run, warm-up included.
    pub closed_s: f64,
    /// The open-loop steps.
    pub open_loop_s: f64,
    /// The capacity search.
    pub capacity_s: f64,
    /// Stopping the strategy.
    pub stop_s: f64,
}

/// What "ready" meant for a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Readiness {
    /// Every worker announced it was serving before the load began.
    #[default]
    AllWorkers,
    /// The strategy names no workers: the load began a moment after its first answer.
    FirstAnswer,
}

/// How evenly the workers shared the responses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Fairness {
    /// Jain's index (Σx)² / (n·Σx²) over the n workers: 1 when even, 1/n when one took all.
    pub jain: f64,
    /// The busiest worker's share of the responses.
    pub max_share: f64,
    /// The idlest worker's share (0 when a worker got nothing).
    pub min_share: f64,
}

impl Fairness {
    /// Over `workers` workers: one that answered nothing counts, as a zero.
    pub fn of(per_worker: &BTreeMap<String, u64>, workers: usize) -> Fairness {
        let mut counts: Vec<f64> = per_worker.values().map(|&n| n as f64).collect();
        counts.resize(counts.len().max(workers), 0.0);
        let total: f64 = counts.iter().sum();
        let squares: f64 = counts.iter().map(|x| x * x).sum();
        if total == 0.0 {
            return Fairness::default();
        }
        Fairness {
            jain: total * total / (counts.len() as f64 * squares),
            max_share: counts.iter().cloned().fold(0.0, f64::max) / total,
            min_share: counts.iter().cloned().fold(f64::INFINITY, f64::min) / total,
        }
    }
}

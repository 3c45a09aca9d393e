//! What a cell and its parent say to each other (a JSON line each way per window), and the
//! record a window makes.

use super::measure::Measurement;
use super::spec::{CellSpec, Window};
use model::cell::{CellResult, Fairness, OpenLoopPoint, Readiness, Timings};
use serde::{Deserialize, Serialize};

/// What the cell says on its stdout, a line each.
#[derive(Debug, Serialize, Deserialize)]
pub enum Said {
    /// The strategy is serving.
    Ready { readiness: Readiness, ready_s: f64 },
    /// A window's result.
    Measured(Box<CellResult>),
    /// A common-rate window's result.
    Point(Box<OpenLoopPoint>),
    /// A window (or the start) failed; the message says why.
    Failed(String),
}

/// A window's record from what was measured.
pub fn result(
    spec: &CellSpec,
    window: &Window,
    readiness: Readiness,
    started_at: String,
    measurement: Measurement,
    timings: Timings,
) -> CellResult {
    let Measurement {
        closed,
        open_loop,
        common_rate,
        capacity,
        fault,
    } = measurement;
    CellResult {
        strategy: spec.strategy.clone(),
        worker: spec.worker.clone(),
        baseline: spec.baseline,
        cores: spec.cores,
        workload: window.workload.clone(),
        repeat: window.repeat,
        workers: spec.workers,
        server_cpus: spec.server_cpus.clone(),
        client_cpus: spec.client_cpus.clone(),
        placement: Default::default(),
        shared_cpus: spec.shared_cpus(),
        isolated: spec.isolated,
        readiness,
        started_at,
        fairness: Fairness::of(&closed.load.per_worker, spec.workers),
        cpu: Some(closed.cpu),
        bottleneck: Some(closed.bottleneck),
        capacity,
        timings,
        warmup_s: 0.0,
        fault,
        load: closed.load,
        load_hosts: closed.hosts,
        common_rate,
        open_loop,
    }
}

//! What the tables and figures show: per (strategy, cores, workload), the repeat whose throughput
//! is the median, whole (its req/s, percentiles and shares all come from that one run), with the
//! spread over every repeat beside it; per cell, how fairly the workers shared the load.

use crate::format::worker_order;
use model::cell::{CellResult, Fairness};
use model::cpu::{Bottleneck, ProgramCpu};
use model::results::Results;
use model::workload::Workload;

/// Above this coefficient of variation of req/s over repeats, a point is too noisy to rank.
pub const NOISY_CV: f64 = 0.05;

/// One row of the summary, one marker of a figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub strategy: String,
    pub cores: usize,
    pub workload: Workload,
    pub runs: usize,
    /// Of the median-throughput run.
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub per_worker: Vec<(String, u64)>,
    pub fairness: Fairness,
    /// Over every run: lowest and highest.
    pub rps_range: (f64, f64),
    pub p99_range: (f64, f64),
    /// Standard deviation of req/s over the runs, relative to their mean (0 for one run).
    pub rps_cv: f64,
    /// Over every run.
    pub errors: u64,
    pub non_2xx: u64,
    /// The worst run's share of non-2xx answers and errors.
    pub failed_share: f64,
    pub shared_cpus: bool,
    pub client_saturated: bool,
    /// Server CPU time per 2xx response (µs) and who limited the rate, of the median run.
    pub cpu_us_per_request: Option<f64>,
    /// Lowest and highest CPU per request over the runs.
    pub cpu_range: Option<(f64, f64)>,
    pub bottleneck: Option<Bottleneck>,
    /// The median run's CPU time by program.
    pub by_program: Vec<ProgramCpu>,
    /// Capacity under the latency objective (searched in the first run), and whether the
    /// server may take more ("at least": no miss up to the ceiling, or the client fell behind).
    pub capacity: Option<(f64, bool)>,
    /// The capacity search stopped where the client, not the server, fell behind its schedule.
    pub capacity_client_limited: bool,
    /// Where the server missed on its own above a client-limited capacity.
    pub capacity_server_missed: Option<f64>,
}

impl Point {
    /// Runs that disagree too much for this point to be ranked against another.
    pub fn noisy(&self) -> bool {
        self.runs >= 2 && self.rps_cv > NOISY_CV
    }
}

/// One open-loop step of a cell: offered load against corrected p99.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadPoint {
    pub strategy: String,
    pub cores: usize,
    pub workload: Workload,
    pub fraction: f64,
    pub target_rps: f64,
    pub p99_us: f64,
    pub rate_reached: bool,
    /// Why the rate was not reached...
    pub missed: Option<String>,
    /// ...and whose limit that was.
    pub miss: Option<model::load::Miss>,
    /// Why the machine spoiled the window kept for this step (steal or other work over the run's
    /// threshold even after its redos), if it did.
    pub spoiled: Option<String>,
    pub shared_cpus: bool,
}

impl LoadPoint {
    /// Measured cleanly: its rate reached, on a machine that left the window alone.
    pub fn clean(&self) -> bool {
        self.rate_reached && self.spoiled.is_none()
    }
}

/// (lowest, highest) of `values`.
fn range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

/// Standard deviation over mean (sample standard deviation; 0 for fewer than two values).
pub fn cv(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 || mean == 0.0 {
        return 0.0;
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    var.sqrt() / mean
}

/// The point of `runs` (one (strategy, cores, workload), at least one run).
fn point(runs: &[&CellResult]) -> Point {
    let mut by_rps: Vec<&CellResult> = runs.to_vec();
    by_rps.sort_by(|a, b| a.load.rps.total_cmp(&b.load.rps));
    // The lower middle for an even count: a real run, never an average of two.
    let m = by_rps[(by_rps.len() - 1) / 2];
    let mut per_worker: Vec<(String, u64)> = m.load.per_worker.iter().map(|(k, v)| (k.clone(), *v)).collect();
    per_worker.sort_by(|a, b| worker_order(&a.0, &b.0));
    let rps: Vec<f64> = runs.iter().map(|c| c.load.rps).collect();
    let capacity = runs.iter().find_map(|c| c.capacity.as_ref());
    Point {
        strategy: m.strategy.clone(),
        cores: m.cores,
        workload: m.workload.clone(),
        runs: runs.len(),
        rps: m.load.rps,
        p50_us: m.load.latency_us.p50 as f64,
        p99_us: m.load.latency_us.p99 as f64,
        per_worker,
        fairness: m.fairness,
        rps_range: range(rps.iter().copied()),
        p99_range: range(runs.iter().map(|c| c.load.latency_us.p99 as f64)),
        rps_cv: cv(&rps),
        errors: runs.iter().map(|c| c.load.errors).sum(),
        non_2xx: runs.iter().map(|c| c.load.non_2xx.values().sum::<u64>()).sum(),
        failed_share: runs.iter().map(|c| c.load.failed_share()).fold(0.0, f64::max),
        shared_cpus: runs.iter().any(|c| c.shared_cpus),
        client_saturated: runs.iter().any(|c| c.load.client_saturated),
        cpu_us_per_request: m.cpu.as_ref().map(|c| c.server_cpu_us_per_request),
        cpu_range: runs.iter().all(|c| c.cpu.is_some()).then(|| {
            range(
                runs.iter()
                    .filter_map(|c| c.cpu.as_ref())
                    .map(|c| c.server_cpu_us_per_request),
            )
        }),
        bottleneck: m.bottleneck,
        by_program: m.cpu.as_ref().map(|c| c.by_program.clone()).unwrap_or_default(),
        capacity: capacity.map(|c| (c.rps.unwrap_or(0.0), c.at_least)),
        capacity_client_limited: capacity.is_some_and(|c| c.client_limited),
        capacity_server_missed: capacity.and_then(|c| c.server_missed_at()),
    }
}

/// Every open-loop step of every cell (latency under load), in cell order.
pub fn load_points(results: &Results) -> Vec<LoadPoint> {
    results
        .cells
        .iter()
        .flat_map(|c| {
            c.open_loop.iter().map(move |o| LoadPoint {
                strategy: c.strategy.clone(),
                cores: c.cores,
                workload: c.workload.clone(),
                fraction: o.fraction,
                target_rps: o.load.target_rps.unwrap_or(0.0),
                p99_us: o.load.latency_us.p99 as f64,
                rate_reached: o.load.rate_reached.unwrap_or(true),
                missed: o.load.rate_missed(),
                miss: o.load.miss(),
                spoiled: o.spoiled(results.config.noise.threshold),
                shared_cpus: c.shared_cpus,
            })
        })
        .collect()
}

/// One point per (strategy, cores, workload), ordered by workload, strategy, cores.
pub fn points(results: &Results) -> Vec<Point> {
    let (strategies, workloads) = (results.strategies(), results.workloads());
    let place = |c: &CellResult| {
        let w = workloads.iter().position(|w| w == &c.workload).unwrap_or(0);
        let s = strategies.iter().position(|n| n == &c.strategy).unwrap_or(0);
        (w, s, c.cores)
    };
    let mut keys: Vec<(usize, usize, usize)> = results.cells.iter().map(place).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|key| {
            let runs: Vec<&CellResult> = results.cells.iter().filter(|c| place(c) == key).collect();
            point(&runs)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn jain_index_and_shares() {
        let even: BTreeMap<String, u64> = [("0".into(), 50), ("1".into(), 50)].into();
        let f = Fairness::of(&even, 2);
        assert_eq!((f.jain, f.max_share, f.min_share), (1.0, 0.5, 0.5));
        let one: BTreeMap<String, u64> = [("0".into(), 100)].into();
        let f = Fairness::of(&one, 4);
        assert_eq!(
            (f.jain, f.max_share, f.min_share),
            (0.25, 1.0, 0.0),
            "a silent worker counts"
        );
        let skew: BTreeMap<String, u64> = [("0".into(), 30), ("1".into(), 10)].into();
        assert!((Fairness::of(&skew, 2).jain - 0.8).abs() < 1e-12);
    }

    #[test]
    fn coefficient_of_variation() {
        assert_eq!(cv(&[5.0]), 0.0);
        assert_eq!(cv(&[2.0, 2.0, 2.0]), 0.0);
        assert!((cv(&[90.0, 100.0, 110.0]) - 0.1).abs() < 1e-12);
    }
}

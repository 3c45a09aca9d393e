//! The results of a run and their exporters: one small trait, one file per format.

pub mod csv;
pub mod json;
pub mod markdown;
pub mod svg;
pub mod table;

use crate::cell::CellResult;
use crate::config::{Config, Workload};
use crate::machine::Machine;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Results {
    pub lbbench_version: String,
    pub git_commit: Option<String>,
    pub started_at: String,
    pub machine: Machine,
    /// Cells ran in private network namespaces (as root) rather than on the host's loopback.
    pub isolated: bool,
    pub config_path: String,
    pub config: Config,
    pub skipped: Vec<Skipped>,
    pub failures: Vec<Failure>,
    pub cells: Vec<CellResult>,
}

/// A strategy that did not run at all, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Skipped {
    pub strategy: String,
    pub reason: String,
}

/// A cell that did not produce a measurement, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Failure {
    pub strategy: String,
    pub cores: usize,
    pub workload: Workload,
    pub repeat: usize,
    pub error: String,
}

impl Failure {
    /// "strategy cores=N workload: the error's first line".
    pub fn headline(&self) -> String {
        let first = self.error.lines().next().unwrap_or("");
        format!(
            "{} cores={} {}: {first}",
            self.strategy,
            self.cores,
            self.workload.name()
        )
    }
}

/// One plotted point: the median over repeats of a (strategy, cores, workload) cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub strategy: String,
    pub cores: usize,
    pub workload: Workload,
    pub runs: usize,
    pub rps: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub errors: u64,
    pub per_worker: Vec<(String, u64)>,
    pub shared_cpus: bool,
    pub client_saturated: bool,
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
    pub shared_cpus: bool,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

impl Results {
    /// Strategies in the order they first appear, for stable legends and colours.
    pub fn strategies(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for c in &self.cells {
            if !names.contains(&c.strategy) {
                names.push(c.strategy.clone());
            }
        }
        names
    }

    pub fn workloads(&self) -> Vec<Workload> {
        let mut w: Vec<Workload> = self.cells.iter().map(|c| c.workload).collect();
        w.sort();
        w.dedup();
        w
    }

    /// Every open-loop step of every cell (latency under load), in cell order.
    pub fn load_points(&self) -> Vec<LoadPoint> {
        self.cells
            .iter()
            .flat_map(|c| {
                c.open_loop.iter().map(move |o| LoadPoint {
                    strategy: c.strategy.clone(),
                    cores: c.cores,
                    workload: c.workload,
                    fraction: o.fraction,
                    target_rps: o.load.target_rps.unwrap_or(0.0),
                    p99_us: o.load.latency_us.p99 as f64,
                    rate_reached: o.load.rate_reached.unwrap_or(true),
                    shared_cpus: c.shared_cpus,
                })
            })
            .collect()
    }

    /// Medians over repeats, ordered by workload, strategy, cores.
    pub fn points(&self) -> Vec<Point> {
        let mut keys: Vec<(Workload, usize, usize)> = Vec::new();
        let order = self.strategies();
        for c in &self.cells {
            let s = order.iter().position(|n| n == &c.strategy).unwrap_or(0);
            if !keys.contains(&(c.workload, s, c.cores)) {
                keys.push((c.workload, s, c.cores));
            }
        }
        keys.sort();
        keys.into_iter()
            .map(|(workload, s, cores)| {
                let runs: Vec<&CellResult> = self
                    .cells
                    .iter()
                    .filter(|c| c.workload == workload && c.strategy == order[s] && c.cores == cores)
                    .collect();
                let pick = |f: fn(&CellResult) -> f64| median(runs.iter().map(|c| f(c)).collect());
                let mut per_worker: Vec<(String, u64)> = Vec::new();
                for c in &runs {
                    for (w, n) in &c.load.per_worker {
                        match per_worker.iter_mut().find(|(k, _)| k == w) {
                            Some((_, m)) => *m += n,
                            None => per_worker.push((w.clone(), *n)),
                        }
                    }
                }
                per_worker.sort_by(|a, b| worker_order(&a.0, &b.0));
                Point {
                    strategy: order[s].clone(),
                    cores,
                    workload,
                    runs: runs.len(),
                    rps: pick(|c| c.load.rps),
                    p50_us: pick(|c| c.load.latency_us.p50 as f64),
                    p99_us: pick(|c| c.load.latency_us.p99 as f64),
                    errors: runs.iter().map(|c| c.load.errors).sum(),
                    per_worker,
                    shared_cpus: runs.iter().any(|c| c.shared_cpus),
                    client_saturated: runs.iter().any(|c| c.load.client_saturated),
                }
            })
            .collect()
    }
}

/// An output format: the files it makes from the results, as bytes. One writer writes them all.
pub trait Exporter {
    /// (file name, contents) of every file of this format.
    fn render(&self, results: &Results) -> Result<Vec<(String, Vec<u8>)>>;
}

/// Every format `lbbench run` writes, the results file first.
pub const FORMATS: [&dyn Exporter; 4] = [&json::Json, &csv::Csv, &markdown::Markdown, &svg::Svg];

/// What `lbbench plot` re-renders from a results file: every format but the results file itself.
pub fn derived() -> &'static [&'static dyn Exporter] {
    &FORMATS[1..]
}

/// Writes the files of `formats` into `dir`, each atomically (a temporary file, then a rename),
/// so a reader never sees half a file; returns the paths written.
pub fn write(results: &Results, dir: &Path, formats: &[&dyn Exporter]) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for format in formats {
        for (name, bytes) in format.render(results)? {
            let path = dir.join(&name);
            let tmp = dir.join(format!(".{name}.tmp"));
            std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, &path)
                .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// Writes `results` in every format; returns the files written.
pub fn export_all(results: &Results, dir: &Path) -> Result<Vec<PathBuf>> {
    write(results, dir, &FORMATS)
}

/// Formats microseconds as milliseconds for people.
pub fn ms(us: f64) -> String {
    format!("{:.2}", us / 1000.0)
}

/// Worker ids in numeric order ("2" before "10"); ids that are not numbers after those, by text.
pub fn worker_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// "49/51" — each worker's share of responses in percent, by worker id.
pub fn shares(per_worker: &[(String, u64)]) -> String {
    let total: u64 = per_worker.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return "-".into();
    }
    per_worker
        .iter()
        .map(|(_, n)| format!("{:.0}", *n as f64 * 100.0 / total as f64))
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
pub(crate) mod fixture;

#[cfg(test)]
mod tests;

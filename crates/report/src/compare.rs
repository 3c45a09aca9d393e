//! Two runs side by side (`lbbench compare BASE NEW`): for every (strategy, cores, workload) in
//! both, NEW against BASE in throughput, p99 at the common rate and CPU per request, each with
//! the ratio of the runs' geometric means, its confidence interval (Welch's t on the logs of
//! each side's rounds: the runs are not paired) and a call, at the confidence of all of them
//! together.
//!
//! Between two runs the machine itself moves (on the development VM one sweep used 45 % more CPU
//! per request than the one before, same commit), and it moves every strategy alike. With
//! [`SHIFTED`] cells or more, each metric's median change over the cells is that shift: it is
//! stated, and every cell's call is relative to it, so what is called is what moved one
//! strategy against the others. A change that moves every strategy alike shows as the shift,
//! never as a call.

use crate::verdict::{self, Pending};
use anyhow::Result;
use model::cell::CellResult;
use model::cpu::Bottleneck;
use model::results::Results;
use model::verdict::{Comparison as Verdict, Metric};
use model::workload::Workload;
use std::path::Path;

/// What is compared, in the table's order.
pub const METRICS: [Metric; 3] = [Metric::Throughput, Metric::P99, Metric::CpuPerRequest];

/// With this many cells compared or more, the median change of a metric is taken as the
/// machine's shift between the runs.
pub const SHIFTED: usize = 6;

/// Reads a results file of this lbbench's schema, refusing any other: both sides of a
/// comparison must have been measured the same way.
pub fn read(path: &Path) -> Result<Results> {
    crate::json::read(path, model::read::Accept::Current)
}

/// How NEW fared against BASE in one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// NEW is better beyond the interval.
    Better,
    Worse,
    /// Within the equivalence margin.
    Equivalent,
    /// The interval is too wide to say.
    Undecided,
    /// A side has a single run: no spread, so no call.
    OneRun,
    /// A side did not measure it (no common-rate window, or CPU in older results).
    NotMeasured,
    /// The client limited a side's throughput: it says nothing about the strategy.
    ClientBound,
}

/// What the "*" of [`Call::OneRun`] means.
pub const ONE_RUN: &str = "*: one run on a side: no spread, so no call either way (run with sweep.repeats ≥ 2)";

impl Call {
    pub fn label(self) -> &'static str {
        match self {
            Call::Better => "better",
            Call::Worse => "worse",
            Call::Equivalent => "equivalent",
            Call::Undecided => "undecided",
            Call::OneRun => "undecided*",
            Call::NotMeasured => "not measured",
            Call::ClientBound => "client-bound",
        }
    }
}

/// One metric of one cell in both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub metric: Metric,
    /// Each run's geometric mean over its rounds.
    pub base: Option<f64>,
    pub new: Option<f64>,
    /// NEW against BASE, relative to the shift: `a` is NEW.
    pub verdict: Option<Verdict>,
    pub call: Call,
}

impl Change {
    /// NEW / BASE of the geometric means (before the shift is taken out).
    pub fn ratio(&self) -> Option<f64> {
        Some(self.new? / self.base?.max(1e-9))
    }

    /// "+20.0 % (+15.1…+25.2) better": how much NEW moved against the shift, and the call.
    pub fn words(&self) -> String {
        match &self.verdict {
            Some(v) => {
                // The verdict's ratio is "how much better"; the table says how the figure moved.
                let moved = |r: f64| if self.metric.higher_is_better() { r } else { 1.0 / r };
                let (lo, hi) = (moved(v.ci[0]).min(moved(v.ci[1])), moved(v.ci[0]).max(moved(v.ci[1])));
                let p = |r: f64| format!("{:+.1}", (r - 1.0) * 100.0);
                format!("{} % ({}…{}) {}", p(moved(v.ratio)), p(lo), p(hi), self.call.label())
            }
            None => match self.ratio() {
                Some(r) => format!("{:+.1} % {}", (r - 1.0) * 100.0, self.call.label()),
                None => self.call.label().into(),
            },
        }
    }
}

/// (strategy, cores, workload).
pub type Key = (String, usize, Workload);

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub strategy: String,
    pub cores: usize,
    pub workload: Workload,
    pub runs: (usize, usize),
    /// In the order of [`METRICS`].
    pub changes: Vec<Change>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub rows: Vec<Row>,
    pub only_base: Vec<Key>,
    pub only_new: Vec<Key>,
    /// Differences between the two runs' machines, programs and loads that may explain a change.
    pub warnings: Vec<String>,
    /// Each metric's shift between the runs (NEW / BASE of the median cell), where taken out.
    pub shifts: Vec<(Metric, f64)>,
    /// Each run's commit.
    pub commits: (String, String),
}

impl Outcome {
    /// Every comparison made, as results.json's `comparisons` holds them (`lbbench compare --json`).
    pub fn verdicts(&self) -> Vec<Verdict> {
        self.rows
            .iter()
            .flat_map(|r| r.changes.iter().filter_map(|c| c.verdict.clone()))
            .collect()
    }
}

fn geo_mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp())
}

/// The cells of `r`, by key, in the order the runs first have them.
fn keyed(r: &Results) -> Vec<(Key, Vec<&CellResult>)> {
    let mut out: Vec<(Key, Vec<&CellResult>)> = Vec::new();
    for c in &r.cells {
        let key = (c.strategy.clone(), c.cores, c.workload.clone());
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, cells)) => cells.push(c),
            None => out.push((key, vec![c])),
        }
    }
    out
}

fn client_bound(cells: &[&CellResult]) -> bool {
    cells
        .iter()
        .any(|c| matches!(c.bottleneck, Some(Bottleneck::Client | Bottleneck::Shared)))
}

/// NEW against BASE, cell by cell.
pub fn compare(base: &Results, new: &Results) -> Outcome {
    let (bk, nk) = (keyed(base), keyed(new));
    let pairs: Vec<(&Key, &[&CellResult], &[&CellResult])> = bk
        .iter()
        .filter_map(|(k, b)| Some((k, b.as_slice(), nk.iter().find(|(q, _)| q == k)?.1.as_slice())))
        .collect();
    let values =
        |cells: &[&CellResult], m: Metric| -> Vec<f64> { cells.iter().filter_map(|c| verdict::value(m, c)).collect() };
    // Each metric's shift: the median cell's change, with enough cells to tell it from them.
    let shifts: Vec<(Metric, f64)> = METRICS
        .iter()
        .filter_map(|&m| {
            let mut ratios: Vec<f64> = pairs
                .iter()
                .filter_map(|(_, b, n)| Some(geo_mean(&values(n, m))? / geo_mean(&values(b, m))?))
                .collect();
            if ratios.len() < SHIFTED {
                return None;
            }
            ratios.sort_by(f64::total_cmp);
            Some((m, ratios[(ratios.len() - 1) / 2]))
        })
        .collect();
    let shift = |m: Metric| shifts.iter().find(|(s, _)| *s == m).map_or(1.0, |(_, v)| *v);
    // What each cell can be compared in, to count the family before any interval.
    let mut pending: Vec<(usize, usize, Pending)> = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    for (i, (key, b, n)) in pairs.iter().enumerate() {
        let mut changes = Vec::new();
        for (j, &metric) in METRICS.iter().enumerate() {
            let (bv, nv) = (values(b, metric), values(n, metric));
            let call = if bv.is_empty() || nv.is_empty() {
                Call::NotMeasured
            } else if metric == Metric::Throughput && (client_bound(b) || client_bound(n)) {
                Call::ClientBound
            } else if bv.len() < 2 || nv.len() < 2 {
                Call::OneRun
            } else {
                let s = shift(metric);
                pending.push((
                    i,
                    j,
                    Pending {
                        workload: key.2.clone(),
                        cores: key.1,
                        metric,
                        a: format!("NEW {}", key.0),
                        b: format!("BASE {}", key.0),
                        values: (nv.iter().map(|v| v / s).collect(), bv.clone()),
                        note: (s != 1.0)
                            .then(|| format!("relative to every cell's shift of {:+.1} %", (s - 1.0) * 100.0)),
                    },
                ));
                Call::Undecided
            };
            changes.push(Change {
                metric,
                base: geo_mean(&bv),
                new: geo_mean(&nv),
                verdict: None,
                call,
            });
        }
        rows.push(Row {
            strategy: key.0.clone(),
            cores: key.1,
            workload: key.2.clone(),
            runs: (b.len(), n.len()),
            changes,
        });
    }
    let cfg = &new.config.verdict;
    let each = stats::family_confidence(cfg.confidence, pending.len());
    let (places, pending): (Vec<(usize, usize)>, Vec<Pending>) =
        pending.into_iter().map(|(i, j, p)| ((i, j), p)).unzip();
    // decide_all keeps the order and drops only what has no interval: match by cell and metric.
    for v in verdict::decide_all(pending, false, each, cfg) {
        let Some(&(i, j)) = places.iter().find(|&&(i, j)| {
            let row = &rows[i];
            v.a == format!("NEW {}", row.strategy)
                && v.cores == row.cores
                && v.workload == row.workload
                && v.metric == METRICS[j]
        }) else {
            continue;
        };
        let change = &mut rows[i].changes[j];
        change.call = match v.call {
            model::verdict::Call::A => Call::Better,
            model::verdict::Call::B => Call::Worse,
            model::verdict::Call::Equivalent => Call::Equivalent,
            model::verdict::Call::Undecided => Call::Undecided,
        };
        change.verdict = Some(v);
    }
    let only = |a: &[(Key, Vec<&CellResult>)], b: &[(Key, Vec<&CellResult>)]| -> Vec<Key> {
        a.iter()
            .filter(|(k, _)| !b.iter().any(|(q, _)| q == k))
            .map(|(k, _)| k.clone())
            .collect()
    };
    let commit = |r: &Results| r.git_commit.clone().unwrap_or_else(|| "unknown".into());
    let mut warnings = differences(base, new);
    warnings.extend(
        shifts
            .iter()
            .filter(|(_, s)| (s - 1.0).abs() > cfg.margin)
            .map(|(m, s)| {
                format!(
                    "{} moved by {:+.1} % in the median cell: every strategy moved together, so either what changed \
             touches them all (a kernel setting) or the machine did (other load, CPU frequency, a VM \
             neighbour); the calls are relative to it. Run BASE again to tell",
                    m.words(),
                    (s - 1.0) * 100.0
                )
            }),
    );
    Outcome {
        rows,
        only_base: only(&bk, &nk),
        only_new: only(&nk, &bk),
        warnings,
        shifts,
        commits: (commit(base), commit(new)),
    }
}

/// What differs between the runs besides the code under test.
fn differences(base: &Results, new: &Results) -> Vec<String> {
    let mut out = Vec::new();
    let mut differ = |what: &str, a: String, b: String| {
        if a != b {
            out.push(format!("{what} differs: BASE {a}, NEW {b}"));
        }
    };
    let (bm, nm) = (&base.machine, &new.machine);
    differ(
        "the machine",
        format!("{} ({} CPUs)", bm.cpu_model, bm.cpus),
        format!("{} ({} CPUs)", nm.cpu_model, nm.cpus),
    );
    differ("the kernel", bm.kernel.clone(), nm.kernel.clone());
    differ("rustc", base.versions.rustc.clone(), new.versions.rustc.clone());
    differ("lbbench", base.lbbench_version.clone(), new.lbbench_version.clone());
    for (strategy, version) in &base.versions.strategies {
        if let Some(other) = new.versions.strategies.get(strategy) {
            differ(&format!("{strategy}'s program"), version.clone(), other.clone());
        }
    }
    let (bl, nl) = (&base.config.load, &new.config.load);
    differ(
        "load.connections",
        bl.connections.to_string(),
        nl.connections.to_string(),
    );
    differ(
        "load.duration",
        format!("{:?}", bl.duration),
        format!("{:?}", nl.duration),
    );
    let (bs, ns) = (&base.config.sweep, &new.config.sweep);
    differ(
        "sweep.workers_per_core",
        bs.workers_per_core.to_string(),
        ns.workers_per_core.to_string(),
    );
    differ("sweep.smt", bs.smt.to_string(), ns.smt.to_string());
    differ(
        "isolation",
        isolation(base.isolated).into(),
        isolation(new.isolated).into(),
    );
    out
}

fn isolation(isolated: bool) -> &'static str {
    if isolated {
        "private namespaces"
    } else {
        "host loopback"
    }
}

pub mod render;

#[cfg(test)]
mod tests;

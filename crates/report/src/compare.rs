//! Two runs side by side (`lbbench compare BASE NEW`): for every (strategy, cores, workload) in
//! both, NEW against BASE in req/s, p99 and CPU per request, each called better, worse or within
//! noise by the verdict's own rule ([`Metric::beats`]: every run of one beat every run of the
//! other, at least two runs each). With one run per cell there is no spread, so nothing is called.

use crate::points::Point;
use crate::verdict::Metric;
use anyhow::Result;
use model::results::Results;
use model::workload::Workload;
use std::path::Path;

/// What is compared, in the table's order.
pub const METRICS: [Metric; 3] = [Metric::Throughput, Metric::P99, Metric::CpuPerRequest];

/// Reads a results file of this lbbench's schema, refusing any other: both sides of a
/// comparison must have been measured the same way.
pub fn read(path: &Path) -> Result<Results> {
    crate::json::read(path, model::read::Accept::Current)
}

/// How NEW fared against BASE in one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Better,
    Worse,
    /// The runs overlap.
    WithinNoise,
    /// A side has a single run: no spread, so no call.
    OneRun,
    /// A side did not measure it (CPU in older results).
    NotMeasured,
}

/// What the "*" of [`Call::OneRun`] means.
pub const ONE_RUN: &str = "*: one run on a side: no spread, so no call either way (run with sweep.repeats ≥ 2)";

impl Call {
    pub fn label(self) -> &'static str {
        match self {
            Call::Better => "better",
            Call::Worse => "worse",
            Call::WithinNoise => "within noise",
            Call::OneRun => "within noise*",
            Call::NotMeasured => "not measured",
        }
    }

    pub fn within_noise(self) -> bool {
        matches!(self, Call::WithinNoise | Call::OneRun)
    }
}

/// One metric of one cell in both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub metric: Metric,
    pub base: Option<f64>,
    pub new: Option<f64>,
    /// Lowest and highest over each run's repeats.
    pub base_range: Option<(f64, f64)>,
    pub new_range: Option<(f64, f64)>,
    pub call: Call,
}

impl Change {
    fn of(metric: Metric, base: &Point, new: &Point) -> Change {
        let call = if metric.value(base).is_none() || metric.value(new).is_none() {
            Call::NotMeasured
        } else if metric.beats(new, base) {
            Call::Better
        } else if metric.beats(base, new) {
            Call::Worse
        } else if base.runs < 2 || new.runs < 2 {
            Call::OneRun
        } else {
            Call::WithinNoise
        };
        Change {
            metric,
            base: metric.value(base),
            new: metric.value(new),
            base_range: metric.range(base).filter(|_| base.runs > 1),
            new_range: metric.range(new).filter(|_| new.runs > 1),
            call,
        }
    }

    /// NEW / BASE.
    pub fn ratio(&self) -> Option<f64> {
        Some(self.new? / self.base?.max(1e-9))
    }

    /// "+20.0 % better": how much the figure moved, and the call.
    pub fn verdict(&self) -> String {
        match self.ratio() {
            Some(r) => format!("{:+.1} % {}", (r - 1.0) * 100.0, self.call.label()),
            None => self.call.label().into(),
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
pub struct Comparison {
    pub rows: Vec<Row>,
    pub only_base: Vec<Key>,
    pub only_new: Vec<Key>,
    /// Differences between the two runs' machines, programs and loads that may explain a change.
    pub warnings: Vec<String>,
    /// Each run's commit.
    pub commits: (String, String),
}

/// NEW against BASE, cell by cell.
pub fn compare(base: &Results, new: &Results) -> Comparison {
    let (bp, np) = (crate::points::points(base), crate::points::points(new));
    let key = |p: &Point| (p.strategy.clone(), p.cores, p.workload.clone());
    let rows: Vec<Row> = bp
        .iter()
        .filter_map(|b| {
            let n = np.iter().find(|n| key(n) == key(b))?;
            Some(Row {
                strategy: b.strategy.clone(),
                cores: b.cores,
                workload: b.workload.clone(),
                runs: (b.runs, n.runs),
                changes: METRICS.iter().map(|&m| Change::of(m, b, n)).collect(),
            })
        })
        .collect();
    let only = |a: &[Point], b: &[Point]| -> Vec<Key> {
        a.iter()
            .filter(|p| !b.iter().any(|q| key(q) == key(p)))
            .map(key)
            .collect()
    };
    let commit = |r: &Results| r.git_commit.clone().unwrap_or_else(|| "unknown".into());
    let mut warnings = differences(base, new);
    warnings.extend(together(&rows));
    Comparison {
        rows,
        only_base: only(&bp, &np),
        only_new: only(&np, &bp),
        warnings,
        commits: (commit(base), commit(new)),
    }
}

/// A median change over every cell beyond this is called out.
const TOGETHER: f64 = 0.10;

/// Where the median cell moved by over [`TOGETHER`] in throughput or CPU per request, every
/// strategy moved together: what changed touches them all, or the machine itself changed (on the
/// development VM one sweep used 45 % more CPU per request than the one before, same commit).
fn together(rows: &[Row]) -> Vec<String> {
    [Metric::Throughput, Metric::CpuPerRequest]
        .into_iter()
        .filter_map(|metric| {
            let i = METRICS.iter().position(|&m| m == metric)?;
            let mut ratios: Vec<f64> = rows.iter().filter_map(|r| r.changes[i].ratio()).collect();
            ratios.sort_by(f64::total_cmp);
            let median = *ratios.get(ratios.len().checked_sub(1)? / 2)?;
            ((median - 1.0).abs() > TOGETHER).then(|| {
                format!(
                    "{} moved by {:+.1} % in the median cell: every strategy moved together, so either what \
                     changed touches them all (a kernel setting) or the machine did (other load, CPU frequency, \
                     a VM neighbour); run BASE again to tell",
                    metric.name(),
                    (median - 1.0) * 100.0
                )
            })
        })
        .collect()
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

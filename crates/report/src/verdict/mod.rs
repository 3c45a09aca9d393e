//! The verdict: per (workload, cores), the leading strategy against every other, each a ratio
//! with its confidence interval and a call ([`model::verdict::Comparison`]).
//!
//! - **Paired by round.** A round runs every strategy of the group once, in a new order, within
//!   seconds of each other; the ratio of two strategies in one round carries that round's
//!   machine (its drift, a burst of steal) on both sides, so it cancels. The interval is
//!   Student's t over the rounds' log ratios ([`stats::paired`]): exact for log-normal noise,
//!   which a ratio of throughputs is close to.
//! - **The metric that says something.** Where every window was the server's limit (or
//!   neither's), throughput; where the client saturated or shared the server's CPUs, throughput
//!   is the client's or the scheduler's, and the strategy's own cost, server CPU time per
//!   response, is compared instead. p99 is compared where every strategy of the group ran at one
//!   offered load (`load.common_rate`), never at each one's own maximum.
//! - **A family.** Every interval of a run is taken at the Bonferroni level of all its
//!   comparisons together, so that at 95 % the chance that any call of the run is wrong is at
//!   most 5 %: two runs of one commit call nothing.

mod words;

pub use words::{how_sure, percent};

use model::cell::CellResult;
use model::cpu::Bottleneck;
use model::results::Results;
use model::verdict::{Call, Comparison, Metric, VerdictConfig};
use model::workload::Workload;

/// No comparison is said to need more rounds than this.
pub const MOST_ROUNDS: usize = 200;

/// A window's figure in `metric` (None where it was not measured, or is not positive).
pub fn value(metric: Metric, c: &CellResult) -> Option<f64> {
    let v = match metric {
        Metric::Throughput => c.load.rps,
        Metric::CpuPerRequest => c.cpu.as_ref()?.server_cpu_us_per_request,
        Metric::P99 => c.common_rate.as_ref()?.load.latency_us.p99 as f64,
    };
    (v > 0.0 && v.is_finite()).then_some(v)
}

/// The headline metric of a group: throughput, unless some window of it was limited by the
/// client or shared the client's CPUs (then CPU per request, and why).
pub fn headline(cells: &[&CellResult]) -> (Metric, Option<String>) {
    let bound = |b: Bottleneck| cells.iter().filter(|c| c.bottleneck == Some(b)).count();
    let (client, shared) = (bound(Bottleneck::Client), bound(Bottleneck::Shared));
    if client + shared == 0 {
        return (Metric::Throughput, None);
    }
    let why = if shared > 0 {
        "client and server shared CPUs"
    } else {
        "the client saturated"
    };
    let note = format!(
        "{why} in {} of {} windows: throughput there is the client's limit, not the strategy's, so \
         they are ranked by server CPU per request",
        client + shared,
        cells.len()
    );
    (Metric::CpuPerRequest, Some(note))
}

/// Two series to compare, not yet given an interval.
pub struct Pending {
    pub workload: Workload,
    pub cores: usize,
    pub metric: Metric,
    pub a: String,
    pub b: String,
    /// `a`'s and `b`'s values, round by round (paired) or run by run (unpaired).
    pub values: (Vec<f64>, Vec<f64>),
    pub note: Option<String>,
}

impl Pending {
    /// The data of "how much better `a` is" (above 1: better), paired by round or not.
    pub fn sample(&self, paired: bool) -> Option<stats::Sample> {
        let (a, b) = &self.values;
        // Lower is better: b over a says how much better a is.
        let (x, y) = if self.metric.higher_is_better() { (a, b) } else { (b, a) };
        if paired {
            stats::Sample::paired(x, y)
        } else {
            stats::Sample::unpaired(x, y)
        }
    }

    /// The comparison at `confidence` (each one's level within its family).
    pub fn decide(self, iv: stats::Interval, confidence: f64, cfg: &VerdictConfig) -> Comparison {
        let call = match stats::call(&iv, cfg.margin) {
            stats::Call::A => Call::A,
            stats::Call::B => Call::B,
            stats::Call::Equivalent => Call::Equivalent,
            stats::Call::Undecided => Call::Undecided,
        };
        let rounds_needed = (call == Call::Undecided)
            .then(|| stats::rounds_needed(&iv, cfg.margin, confidence, MOST_ROUNDS))
            .flatten();
        Comparison {
            workload: self.workload,
            cores: self.cores,
            metric: self.metric,
            a: self.a,
            b: self.b,
            ratio: iv.ratio,
            ci: [iv.low, iv.high],
            call,
            rounds: iv.n,
            rounds_needed,
            note: self.note,
        }
    }
}

/// Every (workload, cores) of the results, in the profile's order of workloads, cores ascending.
pub fn groups(r: &Results) -> Vec<(Workload, usize)> {
    let mut keys: Vec<(Workload, usize)> = Vec::new();
    for c in &r.cells {
        if !keys.contains(&(c.workload.clone(), c.cores)) {
            keys.push((c.workload.clone(), c.cores));
        }
    }
    let order = r.workloads();
    keys.sort_by_key(|(w, c)| (order.iter().position(|x| x == w), *c));
    keys
}

/// Each strategy's figure in `metric`, round by round, over `cells` (one group's).
fn by_round(cells: &[&CellResult], metric: Metric) -> Vec<(String, Vec<(usize, f64)>)> {
    let mut out: Vec<(String, Vec<(usize, f64)>)> = Vec::new();
    for c in cells {
        let Some(v) = value(metric, c) else { continue };
        match out.iter_mut().find(|(s, _)| *s == c.strategy) {
            Some((_, rounds)) => rounds.push((c.repeat, v)),
            None => out.push((c.strategy.clone(), vec![(c.repeat, v)])),
        }
    }
    out
}

/// The leader in `metric` (the best geometric mean over at least two rounds) against every
/// other strategy with rounds in common, paired by round.
fn against_leader(
    group: &(Workload, usize),
    cells: &[&CellResult],
    metric: Metric,
    note: Option<String>,
) -> Vec<Pending> {
    let series = by_round(cells, metric);
    let mean = |v: &[(usize, f64)]| v.iter().map(|(_, x)| x.ln()).sum::<f64>() / v.len() as f64;
    let better = |x: f64, y: f64| if metric.higher_is_better() { x > y } else { x < y };
    let Some(leader) =
        series
            .iter()
            .filter(|(_, v)| v.len() >= 2)
            .reduce(|best, s| if better(mean(&s.1), mean(&best.1)) { s } else { best })
    else {
        return Vec::new();
    };
    series
        .iter()
        .filter(|(s, _)| *s != leader.0)
        .filter_map(|(s, rounds)| {
            let (a, b): (Vec<f64>, Vec<f64>) = leader
                .1
                .iter()
                .filter_map(|(r, x)| Some((*x, rounds.iter().find(|(q, _)| q == r)?.1)))
                .unzip();
            (a.len() >= 2).then(|| Pending {
                workload: group.0.clone(),
                cores: group.1,
                metric,
                a: leader.0.clone(),
                b: s.clone(),
                values: (a, b),
                note: note.clone(),
            })
        })
        .collect()
}

/// The verdict in words, a line per (workload, cores, metric) compared.
pub fn lines(r: &Results) -> Vec<String> {
    words::lines(r, &of(r))
}

/// The run's comparisons: as the sweep recorded them, or (a results file without them) made now.
pub fn of(r: &Results) -> std::borrow::Cow<'_, [Comparison]> {
    if r.comparisons.is_empty() {
        std::borrow::Cow::Owned(comparisons(r))
    } else {
        std::borrow::Cow::Borrowed(&r.comparisons)
    }
}

/// Intervals for `pending` at `confidence` each, the variances of each metric moderated together
/// (a p99's spread is of another order than a throughput's).
pub fn decide_all(pending: Vec<Pending>, paired: bool, confidence: f64, cfg: &VerdictConfig) -> Vec<Comparison> {
    let samples: Vec<Option<stats::Sample>> = pending.iter().map(|p| p.sample(paired)).collect();
    let prior = |metric: Metric| {
        let of_metric: Vec<(f64, f64)> = pending
            .iter()
            .zip(&samples)
            .filter(|(p, _)| p.metric == metric)
            .filter_map(|(_, s)| s.map(|s| (s.s2, s.df)))
            .collect();
        stats::moderate(&of_metric)
    };
    let priors = [Metric::Throughput, Metric::P99, Metric::CpuPerRequest].map(|m| (m, prior(m)));
    pending
        .into_iter()
        .zip(samples)
        .filter_map(|(p, s)| {
            let prior = priors.iter().find(|(m, _)| *m == p.metric).map(|(_, pr)| *pr)?;
            let iv = s?.interval(&prior, confidence)?;
            Some(p.decide(iv, confidence, cfg))
        })
        .collect()
}

/// Every comparison the results support, at the profile's confidence over all of them. Only
/// strategies with the same worker are compared (a balancer against a balancer, the worker held
/// the same): each worker of a group has its own leader.
///
/// The leader is picked by the same data it is then compared with, which favours it (of many
/// equal strategies, the luckiest leads). So the family counts every pair of a group, not only
/// the leader's: at that level no pair, the leader's included, is called by luck.
pub fn comparisons(r: &Results) -> Vec<Comparison> {
    let (mut pending, mut family) = (Vec::new(), 0);
    for group in groups(r) {
        let all: Vec<&CellResult> = r
            .cells
            .iter()
            .filter(|c| c.workload == group.0 && c.cores == group.1)
            .collect();
        let mut workers: Vec<&str> = all.iter().map(|c| c.worker.as_str()).collect();
        workers.dedup();
        workers.sort();
        workers.dedup();
        for worker in workers {
            let cells: Vec<&CellResult> = all.iter().copied().filter(|c| c.worker == worker).collect();
            let (metric, note) = headline(&cells);
            for (metric, note) in [(metric, note), (Metric::P99, None)] {
                let here = against_leader(&group, &cells, metric, note);
                let k = here.len() + 1;
                family += if here.is_empty() { 0 } else { k * (k - 1) / 2 };
                pending.extend(here);
            }
        }
    }
    let cfg = &r.config.verdict;
    decide_all(pending, true, stats::family_confidence(cfg.confidence, family), cfg)
}

pub mod added;

#[cfg(test)]
mod tests;

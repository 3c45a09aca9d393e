//! What each balancer adds to its worker: CPU per request over the same worker with no process
//! of its own in between (a strategy whose workers alone serve, the kernel balancing them:
//! `baseline` cells), paired by round, with an interval for all of them together.

use super::{decide_all, value, Pending};
use model::cell::CellResult;
use model::results::Results;
use model::verdict::{Comparison, Metric};

/// Each strategy's added CPU per request over its worker's baseline, a comparison per
/// (workload, cores, worker, strategy); `a` is the baseline, `ratio` the strategy's cost over it.
pub fn comparisons(r: &Results) -> Vec<Comparison> {
    let mut pending = Vec::new();
    for (workload, cores) in super::groups(r) {
        let here: Vec<&CellResult> = r
            .cells
            .iter()
            .filter(|c| c.workload == workload && c.cores == cores)
            .collect();
        for base in distinct(here.iter().filter(|c| c.baseline).map(|c| c.strategy.as_str())) {
            let worker = &here
                .iter()
                .find(|c| c.strategy == base)
                .map(|c| c.worker.clone())
                .unwrap_or_default();
            let rounds = |s: &str| -> Vec<(usize, f64)> {
                here.iter()
                    .filter(|c| c.strategy == s)
                    .filter_map(|c| Some((c.repeat, value(Metric::CpuPerRequest, c)?)))
                    .collect()
            };
            let base_rounds = rounds(base);
            let others = here
                .iter()
                .filter(|c| &c.worker == worker && c.strategy != base && !c.baseline);
            for s in distinct(others.map(|c| c.strategy.as_str())) {
                let (a, b): (Vec<f64>, Vec<f64>) = base_rounds
                    .iter()
                    .filter_map(|(q, x)| Some((*x, rounds(s).iter().find(|(p, _)| p == q)?.1)))
                    .unzip();
                if a.len() >= 2 {
                    pending.push(Pending {
                        workload: workload.clone(),
                        cores,
                        metric: Metric::CpuPerRequest,
                        a: base.to_string(),
                        b: s.to_string(),
                        values: (a, b),
                        note: None,
                    });
                }
            }
        }
    }
    let cfg = &r.config.verdict;
    let confidence = stats::family_confidence(cfg.confidence, pending.len().max(1));
    decide_all(pending, true, confidence, cfg)
}

fn distinct<'a>(names: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for n in names {
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out
}

/// The median of the baseline's CPU per request in µs, for `c`'s group.
fn baseline_us(r: &Results, c: &Comparison) -> Option<f64> {
    let mut v: Vec<f64> = r
        .cells
        .iter()
        .filter(|x| x.strategy == c.a && x.cores == c.cores && x.workload == c.workload)
        .filter_map(|x| value(Metric::CpuPerRequest, x))
        .collect();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// A line per (workload, cores, baseline): what each strategy with that worker costs over it, in
/// µs of server CPU per request and in percent with the interval ("nginx+node +31.0 µs (+74 %,
/// +69…+80 %)").
pub fn lines(r: &Results) -> Vec<String> {
    let all = comparisons(r);
    let mut keys: Vec<(&model::workload::Workload, usize, &str)> = Vec::new();
    for c in &all {
        if !keys.contains(&(&c.workload, c.cores, c.a.as_str())) {
            keys.push((&c.workload, c.cores, c.a.as_str()));
        }
    }
    keys.into_iter()
        .map(|(workload, cores, base)| {
            let here: Vec<&Comparison> = all
                .iter()
                .filter(|c| &c.workload == workload && c.cores == cores && c.a == base)
                .collect();
            let us = here.first().and_then(|c| baseline_us(r, c)).unwrap_or(f64::NAN);
            // `ratio` is the strategy's CPU per request over the baseline's.
            let pct = |x: f64| (x - 1.0) * 100.0;
            let parts: Vec<String> = here
                .iter()
                .map(|c| {
                    format!(
                        "{} {:+.1} µs ({:+.0} %, {:+.0}…{:+.0} %)",
                        c.b,
                        us * (c.ratio - 1.0),
                        pct(c.ratio),
                        pct(c.ci[0]),
                        pct(c.ci[1])
                    )
                })
                .collect();
            format!(
                "{}, {cores} core{}: CPU per request added over {base} (its workers alone, {us:.1} µs): {}",
                workload.name(),
                if cores == 1 { "" } else { "s" },
                parts.join("; ")
            )
        })
        .collect()
}

//! Which strategy leads, per (workload, cores), and only where the lead exceeds the spread: the
//! leader's worst run must beat the runner-up's best run (their min–max ranges must not
//! overlap). With three runs a rank test such as Mann-Whitney U cannot reach p < 0.05 (its
//! smallest two-sided p for 3 against 3 is 0.1), so separated ranges are the honest rule here.

use super::{Point, Results};
use crate::config::Workload;

/// What a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Higher is better.
    Throughput,
    /// Lower is better.
    P99,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    pub workload: Workload,
    pub cores: usize,
    pub metric: Metric,
    pub leader: String,
    pub runner_up: Option<String>,
    /// How much better the leader is, as a fraction (0.12: 12 %).
    pub margin: f64,
    /// The ranges do not overlap and both had at least two runs: the lead is real.
    pub separated: bool,
    /// A client-saturated or shared-CPU point is involved: the figures may be the client's.
    pub caveat: Option<&'static str>,
}

/// One verdict per metric for every (workload, cores) with at least one point.
pub fn verdicts(results: &Results) -> Vec<Verdict> {
    let points = results.points();
    // Points come ordered by workload (the profile's order), then strategy, then cores.
    let mut keys: Vec<(Workload, usize)> = Vec::new();
    for p in &points {
        if !keys.contains(&(p.workload.clone(), p.cores)) {
            keys.push((p.workload.clone(), p.cores));
        }
    }
    keys.sort_by_key(|(w, c)| (results.workloads().iter().position(|x| x == w), *c));
    let mut out = Vec::new();
    for (workload, cores) in keys {
        let here: Vec<&Point> = points
            .iter()
            .filter(|p| p.workload == workload && p.cores == cores)
            .collect();
        for metric in [Metric::Throughput, Metric::P99] {
            out.push(judge(&here, workload.clone(), cores, metric));
        }
    }
    out
}

fn judge(points: &[&Point], workload: Workload, cores: usize, metric: Metric) -> Verdict {
    let mut ranked: Vec<&Point> = points.to_vec();
    match metric {
        Metric::Throughput => ranked.sort_by(|a, b| b.rps.total_cmp(&a.rps)),
        Metric::P99 => ranked.sort_by(|a, b| a.p99_us.total_cmp(&b.p99_us)),
    }
    let (leader, next) = (ranked[0], ranked.get(1).copied());
    let (margin, separated) = match (next, metric) {
        (None, _) => (0.0, false),
        (Some(n), Metric::Throughput) => (leader.rps / n.rps.max(1e-9) - 1.0, leader.rps_range.0 > n.rps_range.1),
        (Some(n), Metric::P99) => (
            n.p99_us / leader.p99_us.max(1e-9) - 1.0,
            leader.p99_range.1 < n.p99_range.0,
        ),
    };
    let both = [Some(leader), next];
    let involved = || both.iter().flatten();
    let caveat = if involved().any(|p| p.client_saturated) {
        Some("the client was saturated: the figures may be its limit")
    } else if involved().any(|p| p.shared_cpus) {
        Some("client and server shared CPUs")
    } else {
        None
    };
    Verdict {
        workload,
        cores,
        metric,
        leader: leader.strategy.clone(),
        runner_up: next.map(|n| n.strategy.clone()),
        margin,
        separated: separated && involved().all(|p| p.runs >= 2),
        caveat,
    }
}

impl Verdict {
    /// One line for people.
    pub fn sentence(&self) -> String {
        let what = match self.metric {
            Metric::Throughput => "throughput",
            Metric::P99 => "p99 latency",
        };
        let head = format!(
            "{}, {} core{}, {what}: ",
            self.workload.name(),
            self.cores,
            if self.cores == 1 { "" } else { "s" }
        );
        let body = match (&self.runner_up, self.separated) {
            (None, _) => format!("{} is the only strategy measured", self.leader),
            (Some(r), true) => format!(
                "{} leads {r} by {:.1} % (every run of {} beat every run of {r})",
                self.leader,
                self.margin * 100.0,
                self.leader
            ),
            (Some(r), false) => format!(
                "{} and {r} are within noise ({:.1} % apart, but their runs overlap or are too few): no ranking",
                self.leader,
                self.margin * 100.0
            ),
        };
        match self.caveat {
            Some(c) => format!("{head}{body}; {c}"),
            None => head + &body,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;

    #[test]
    fn a_lead_counts_only_beyond_the_spread() {
        let mut r = fixture::results();
        // alpha: 1000..1002 req/s at 1 core; beta: 2000..2002.
        let v = verdicts(&r);
        let t = v
            .iter()
            .find(|v| v.cores == 1 && v.metric == Metric::Throughput)
            .unwrap();
        assert_eq!((t.leader.as_str(), t.separated), ("beta", true));
        assert!((t.margin - (2001.0 / 1001.0 - 1.0)).abs() < 1e-9);
        assert!(t.sentence().contains("beta leads alpha by 99.9 %"), "{}", t.sentence());
        // Make one run of alpha as fast as beta's slowest: the ranges touch, no ranking.
        let slow_beta = r
            .cells
            .iter()
            .position(|c| c.strategy == "beta" && c.cores == 1)
            .unwrap();
        let beta_min = r.cells[slow_beta].load.rps;
        let a = r
            .cells
            .iter()
            .position(|c| c.strategy == "alpha" && c.cores == 1)
            .unwrap();
        r.cells[a].load.rps = beta_min + 1.0;
        let v = verdicts(&r);
        let t = v
            .iter()
            .find(|v| v.cores == 1 && v.metric == Metric::Throughput)
            .unwrap();
        assert!(
            !t.separated && t.sentence().contains("within noise"),
            "{}",
            t.sentence()
        );
    }
}

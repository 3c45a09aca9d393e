//! Which strategy leads, per (workload, cores), and only where the lead exceeds the spread: the
//! leader's worst run must beat the runner-up's best run (their min–max ranges must not
//! overlap). With three runs a rank test such as Mann-Whitney U cannot reach p < 0.05 (its
//! smallest two-sided p for 3 against 3 is 0.1), so separated ranges are the honest rule here.

use crate::points::Point;
use model::results::Results;
use model::workload::Workload;

/// What a verdict (or a comparison) is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Higher is better.
    Throughput,
    /// Lower is better.
    P99,
    /// Server CPU time per 2xx response; lower is better.
    CpuPerRequest,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::P99 => "p99 latency",
            Metric::CpuPerRequest => "CPU per request",
        }
    }

    pub fn higher_is_better(self) -> bool {
        self == Metric::Throughput
    }

    /// The point's figure: of its median-throughput run (None where it was not measured).
    pub fn value(self, p: &Point) -> Option<f64> {
        match self {
            Metric::Throughput => Some(p.rps),
            Metric::P99 => Some(p.p99_us),
            Metric::CpuPerRequest => p.cpu_us_per_request,
        }
    }

    /// Lowest and highest over the point's runs.
    pub fn range(self, p: &Point) -> Option<(f64, f64)> {
        match self {
            Metric::Throughput => Some(p.rps_range),
            Metric::P99 => Some(p.p99_range),
            Metric::CpuPerRequest => p.cpu_range,
        }
    }

    /// How much better `a` is than `b`, as a fraction (0.12: 12 %; negative when worse).
    pub fn margin(self, a: &Point, b: &Point) -> Option<f64> {
        let (x, y) = (self.value(a)?, self.value(b)?);
        Some(if self.higher_is_better() {
            x / y.max(1e-9) - 1.0
        } else {
            y / x.max(1e-9) - 1.0
        })
    }

    /// THE rule of every verdict and comparison: `a` beats `b` only when every run of `a` beat
    /// every run of `b` (their min–max ranges do not overlap) and each has at least two runs.
    pub fn beats(self, a: &Point, b: &Point) -> bool {
        let (Some(ra), Some(rb)) = (self.range(a), self.range(b)) else {
            return false;
        };
        let apart = if self.higher_is_better() {
            ra.0 > rb.1
        } else {
            ra.1 < rb.0
        };
        apart && a.runs >= 2 && b.runs >= 2
    }
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
    let points = crate::points::points(results);
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
    // Best first; a point without the figure last.
    let key = |p: &Point| match metric.value(p) {
        Some(v) if metric.higher_is_better() => -v,
        Some(v) => v,
        None => f64::INFINITY,
    };
    ranked.sort_by(|a, b| key(a).total_cmp(&key(b)));
    let (leader, next) = (ranked[0], ranked.get(1).copied());
    let (margin, separated) = match next {
        None => (0.0, false),
        Some(n) => (metric.margin(leader, n).unwrap_or(0.0), metric.beats(leader, n)),
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
        separated,
        caveat,
    }
}

impl Verdict {
    /// One line for people.
    pub fn sentence(&self) -> String {
        let what = self.metric.name();
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
    use crate::fixture;

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

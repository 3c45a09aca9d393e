//! The comparisons a run (or `lbbench compare`) makes: strategy `a` against `b` in one metric,
//! the ratio with its confidence interval, and the call.

use crate::workload::Workload;
use serde::{Deserialize, Serialize};

/// `[verdict]`: the comparisons' confidence and the equivalence margin.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VerdictConfig {
    /// The family-wise confidence of a run's calls together (Bonferroni over its comparisons).
    pub confidence: f64,
    /// Two strategies within this share of each other are `equivalent` (0.03: 3 %).
    pub margin: f64,
}

impl Default for VerdictConfig {
    fn default() -> Self {
        VerdictConfig {
            confidence: 0.95,
            margin: 0.03,
        }
    }
}

impl VerdictConfig {
    /// Why the section cannot be used, if so.
    pub fn check(&self) -> Result<(), String> {
        if !(self.confidence > 0.5 && self.confidence < 1.0) {
            return Err(format!(
                "verdict.confidence = {} must be in (0.5, 1), e.g. 0.95",
                self.confidence
            ));
        }
        if !(self.margin > 0.0 && self.margin < 1.0) {
            return Err(format!(
                "verdict.margin = {} must be in (0, 1), e.g. 0.03 for 3 %",
                self.margin
            ));
        }
        Ok(())
    }
}

/// What is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// 2xx responses per second; higher is better.
    Throughput,
    /// p99 latency (corrected, at the same offered load in a sweep); lower is better.
    P99,
    /// Server CPU time per 2xx response; lower is better.
    CpuPerRequest,
}

crate::names::display_as_serde!(Metric);

impl Metric {
    /// Whether a higher value is better.
    pub fn higher_is_better(self) -> bool {
        self == Metric::Throughput
    }

    /// For people: "throughput", "p99 latency", "CPU per request".
    pub fn words(self) -> &'static str {
        match self {
            Metric::Throughput => "throughput",
            Metric::P99 => "p99 latency",
            Metric::CpuPerRequest => "CPU per request",
        }
    }
}

/// What a comparison says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Call {
    /// `a` is better.
    A,
    /// `b` is better.
    B,
    /// Within the margin of each other.
    Equivalent,
    /// Cannot tell.
    Undecided,
}

crate::names::display_as_serde!(Call);

/// One comparison: `a` against `b` in `metric`, in the metric's better direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// The workload and core count compared at (a sweep); for `compare`, the cell's.
    pub workload: Workload,
    /// Server cores.
    pub cores: usize,
    /// What is compared.
    pub metric: Metric,
    /// One side: a strategy (a sweep), or NEW (`compare`).
    pub a: String,
    /// The other: a strategy, or BASE.
    pub b: String,
    /// How much better `a` is than `b`: above 1 `a` is better (a's throughput over b's, or b's
    /// p99 or CPU per request over a's).
    pub ratio: f64,
    /// The ratio's confidence interval, at the level of the family of comparisons it belongs to.
    pub ci: [f64; 2],
    /// What the interval says.
    pub call: Call,
    /// Rounds (paired) or the fewer runs of a side (unpaired) behind it.
    pub rounds: usize,
    /// Undecided: about how many rounds the spread it shows says would decide it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds_needed: Option<usize>,
    /// Why this metric, when it is not the obvious one (a client-bound cell: throughput says
    /// nothing there, CPU per request does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

//! A run's results, as results.json holds them: what ran, where, and every cell.

use crate::cell::CellResult;
use crate::config::Config;
use crate::machine::{Isolation, Machine};
use crate::workload::Workload;
use serde::{Deserialize, Serialize};

/// The layout of results.json; a reader refuses (or converts) other versions.
pub const SCHEMA: u32 = 4;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Results {
    /// Results written before the schema was recorded are version 1.
    #[serde(default = "schema_one")]
    pub schema: u32,
    pub lbbench_version: String,
    /// The repository's commit, "-dirty" when tracked files had changed.
    pub git_commit: Option<String>,
    /// What ran: the compiler that built lbbench and the strategies, and each strategy's program.
    #[serde(default)]
    pub versions: Versions,
    pub started_at: String,
    pub machine: Machine,
    /// The CPU topology and where the sweep put server and client; absent in older results.
    #[serde(default)]
    pub topology: Option<crate::placement::TopologyRecord>,
    /// Cells ran in private network namespaces rather than on the host's loopback.
    pub isolated: bool,
    /// How: as root, in a user namespace, or not at all (and why).
    #[serde(default)]
    pub isolation: Isolation,
    pub config_path: String,
    pub config: Config,
    pub skipped: Vec<Skipped>,
    pub failures: Vec<Failure>,
    /// Whether idle CPUs were held awake while measuring; absent in older results (they were not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus_awake: Option<crate::machine::CpusAwake>,
    /// How the open loop's pacing threads were scheduled; absent in older results (normally).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_priority: Option<crate::machine::ClientPriority>,
    /// The machine's noise before the sweep, and what it means for rankings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_check: Option<crate::noise::MachineCheck>,
    /// Every comparison the verdict makes, with its interval and call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comparisons: Vec<crate::verdict::Comparison>,
    /// The sweep ran to its end (its rounds, or its budget, spent); false in the results file
    /// written after each window and in older results (absent when false, so an older file
    /// written back is the same bytes).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub finished: bool,
    /// Read one by one (see [`crate::read::parse`]), so a bad cell is named.
    #[serde(default)]
    pub cells: Vec<CellResult>,
}

fn schema_one() -> u32 {
    1
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Versions {
    pub rustc: String,
    /// Strategy name → the version its manifest's `version` command printed.
    pub strategies: std::collections::BTreeMap<String, String>,
}

/// A strategy that did not run at all, and why.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Skipped {
    pub strategy: String,
    pub reason: String,
}

impl Skipped {
    /// `strategy` did not run, for `reason`.
    pub fn new(strategy: impl Into<String>, reason: impl Into<String>) -> Skipped {
        Skipped {
            strategy: strategy.into(),
            reason: reason.into(),
        }
    }
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

impl Results {
    /// Strategies in the order they first appear, for stable legends and colours.
    pub fn strategies(&self) -> Vec<String> {
        first_seen(self.cells.iter().map(|c| &c.strategy))
    }

    /// The worker programs that answered, in the order they first appear (one empty name in
    /// results from before workers were recorded).
    pub fn workers(&self) -> Vec<String> {
        first_seen(self.cells.iter().map(|c| &c.worker))
    }

    /// The most rounds any (strategy, cores, workload) got (0 before the first cell).
    pub fn rounds(&self) -> usize {
        self.cells.iter().map(|c| c.repeat + 1).max().unwrap_or(0)
    }

    /// Workloads in the order they first appear (the profile's order).
    pub fn workloads(&self) -> Vec<Workload> {
        first_seen(self.cells.iter().map(|c| &c.workload))
    }
}

/// Each distinct item once, in the order of its first appearance.
fn first_seen<'a, T: PartialEq + Clone + 'a>(items: impl Iterator<Item = &'a T>) -> Vec<T> {
    let mut seen: Vec<T> = Vec::new();
    for item in items {
        if !seen.contains(item) {
            seen.push(item.clone());
        }
    }
    seen
}

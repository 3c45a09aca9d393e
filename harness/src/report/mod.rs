//! The results of a run and their exporters: one small trait, one file per format.

pub mod compare;
pub mod csv;
pub mod faults;
pub mod html;
pub mod json;
pub mod markdown;
pub mod points;
pub mod svg;
pub mod table;
pub mod verdict;

use crate::cell::CellResult;
use crate::config::{Config, Workload};
use crate::machine::Machine;
use anyhow::{Context, Result};
pub use points::{Fairness, LoadPoint, Point};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The layout of results.json; a reader refuses (or converts) other versions.
pub const SCHEMA: u32 = 2;

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
    pub topology: Option<crate::topology::TopologyRecord>,
    /// Cells ran in private network namespaces rather than on the host's loopback.
    pub isolated: bool,
    /// How: as root, in a user namespace, or not at all (and why).
    #[serde(default)]
    pub isolation: crate::sandbox::Isolation,
    pub config_path: String,
    pub config: Config,
    pub skipped: Vec<Skipped>,
    pub failures: Vec<Failure>,
    /// Read one by one (see [`json::parse`]), so a bad cell is named.
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

/// An output format: the files it makes from the results, as bytes. One writer writes them all.
pub trait Exporter {
    /// (file name, contents) of every file of this format.
    fn render(&self, results: &Results) -> Result<Vec<(String, Vec<u8>)>>;
}

/// Every format `lbbench run` writes, the results file first.
pub const FORMATS: [&dyn Exporter; 5] = [&json::Json, &csv::Csv, &markdown::Markdown, &svg::Svg, &html::Html];

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

/// Checks that files can be written into `dir` (creating it), before a sweep spends time on
/// cells whose results would be lost.
pub fn writable(dir: &Path) -> Result<()> {
    let fix = || {
        format!(
            "results cannot be written to {}: give another --out (or output.dir)",
            dir.display()
        )
    };
    std::fs::create_dir_all(dir).with_context(fix)?;
    let probe = dir.join(".lbbench-write-test");
    std::fs::write(&probe, b"").with_context(fix)?;
    let _ = std::fs::remove_file(probe);
    Ok(())
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

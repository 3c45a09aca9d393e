use crate::format::Exporter;
use crate::{table, verdict};
use anyhow::Result;
use model::results::Results;

pub const FILE: &str = "summary.md";

pub struct Markdown;

impl Exporter for Markdown {
    fn render(&self, results: &Results) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(vec![(FILE.into(), render(results).into_bytes())])
    }
}

pub fn render(r: &Results) -> String {
    let m = &r.machine;
    let mut out = format!(
        "# lbbench results\n\n{} · {} CPUs · Linux {} · {} · commit {} · config `{}`\n\n",
        m.cpu_model,
        m.cpus,
        m.kernel,
        r.started_at,
        r.git_commit.as_deref().unwrap_or("unknown"),
        r.config_path
    );
    let (header, rows) = table::rows(r);
    out += &pipe_table(&header, &rows);
    out += "\n## Verdict\n\nPer workload and core count, the strategy with the highest req/s (and the lowest p99), \
            called ahead only when every one of its runs beat every run of the next one (their min–max \
            ranges do not overlap, at least two runs each).\n\n";
    for v in verdict::verdicts(r) {
        out += &format!("- {}\n", v.sentence());
    }
    out += &super::faults::markdown(r);
    if let Some(t) = &r.topology {
        out += &format!("\n## CPU placement\n\n{}", crate::placement::markdown(t));
    }
    if !r.skipped.is_empty() {
        out += "\n## Skipped\n\n";
        for s in &r.skipped {
            out += &format!("- **{}**: {}\n", s.strategy, s.reason);
        }
    }
    out += &format!(
        "\n## What ran\n\n- lbbench {} (commit {}), built by {}\n- Linux {}\n",
        r.lbbench_version,
        r.git_commit.as_deref().unwrap_or("unknown"),
        r.versions.rustc,
        r.machine.kernel
    );
    for (name, version) in &r.versions.strategies {
        out += &format!("- {name}: {version}\n");
    }
    if !r.failures.is_empty() {
        out += "\n## Failed cells\n\n";
        for f in &r.failures {
            out += &format!("- {}\n", f.headline());
        }
    }
    out
}

/// A markdown (pipe) table.
pub fn pipe_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n|{}\n", header.join(" | "), "---|".repeat(header.len()));
    for row in rows {
        out += &format!("| {} |\n", row.join(" | "));
    }
    out
}

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
    out += &format!(
        "\n## Verdict\n\nPer workload and core count, the leader against every other strategy, paired by round, \
         at {:.0} % confidence over the run's {} comparisons together: ahead when the interval clears 1, \
         equivalent within ±{:.0} %, else undecided.\n\n",
        r.config.verdict.confidence * 100.0,
        verdict::of(r).len(),
        r.config.verdict.margin * 100.0
    );
    if let Some(check) = &r.machine_check {
        out += &format!("- machine check: {}\n", check.verdict);
    }
    out += &format!(
        "- noise: {}\n",
        crate::noise::summary(r).sentence(r.config.noise.threshold)
    );
    for line in verdict::lines(r) {
        out += &format!("- {line}\n");
    }
    for line in verdict::added::lines(r) {
        out += &format!("- {line}\n");
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
    if let Some(awake) = &r.cpus_awake {
        out += &format!("- {}\n", awake.describe());
    }
    if let Some(priority) = &r.client_priority {
        out += &format!("- {}\n", priority.describe());
    }
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

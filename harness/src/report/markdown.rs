use super::{table, Exporter, Results};
use anyhow::Result;
use std::path::{Path, PathBuf};

pub const FILE: &str = "summary.md";

pub struct Markdown;

impl Exporter for Markdown {
    fn export(&self, results: &Results, dir: &Path) -> Result<Vec<PathBuf>> {
        let path = dir.join(FILE);
        std::fs::write(&path, render(results))?;
        Ok(vec![path])
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
    out += &format!("| {} |\n", header.join(" | "));
    out += &format!("|{}\n", "---|".repeat(header.len()));
    for row in rows {
        out += &format!("| {} |\n", row.join(" | "));
    }
    if !r.skipped.is_empty() {
        out += "\n## Skipped\n\n";
        for s in &r.skipped {
            out += &format!("- **{}**: {}\n", s.strategy, s.reason);
        }
    }
    if !r.failures.is_empty() {
        out += "\n## Failed cells\n\n";
        for f in &r.failures {
            let first = f.error.lines().next().unwrap_or("");
            out += &format!(
                "- **{}** cores={} {}: {first}\n",
                f.strategy,
                f.cores,
                f.workload.name()
            );
        }
    }
    out
}

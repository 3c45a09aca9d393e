//! The report: every way lbbench shows results — the terminal table, results.json, CSV,
//! markdown, SVG figures and the HTML page, the verdict and the comparison of two runs, and the
//! text of `lbbench load`. One small trait per output format ([`Exporter`]), returning bytes;
//! one writer ([`write`]).
//!
//! It depends on the model only (and the statistics): never on the harness or the instrument,
//! so a results file can be plotted or compared without anything that measures.

pub mod compare;
pub mod csv;
pub mod faults;
pub mod format;
pub mod html;
pub mod json;
pub mod load_text;
pub mod markdown;
pub mod noise;
pub mod placement;
pub mod points;
pub mod svg;
pub mod table;
pub mod verdict;

use anyhow::{Context, Result};
pub use format::Exporter;
use model::results::Results;
use std::path::{Path, PathBuf};

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

#[cfg(test)]
pub(crate) mod fixture;

#[cfg(test)]
mod tests;

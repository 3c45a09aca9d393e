use super::{Exporter, Results};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub const FILE: &str = "results.json";

pub struct Json;

impl Exporter for Json {
    fn export(&self, results: &Results, dir: &Path) -> Result<Vec<PathBuf>> {
        let path = dir.join(FILE);
        // Write then rename, so a reader never sees half a file.
        let tmp = dir.join(format!(".{FILE}.tmp"));
        std::fs::write(&tmp, serde_json::to_vec_pretty(results)?)
            .with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &path)?;
        Ok(vec![path])
    }
}

/// Reads a results file written by [`Json`].
pub fn read(path: &Path) -> Result<Results> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not an lbbench results file", path.display()))
}

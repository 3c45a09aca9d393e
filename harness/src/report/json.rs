use super::{Exporter, Results};
use anyhow::{Context, Result};
use std::path::Path;

pub const FILE: &str = "results.json";

pub struct Json;

impl Exporter for Json {
    fn render(&self, results: &Results) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(vec![(FILE.into(), serde_json::to_vec_pretty(results)?)])
    }
}

/// Reads a results file written by [`Json`].
pub fn read(path: &Path) -> Result<Results> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not an lbbench results file", path.display()))
}

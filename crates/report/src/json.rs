//! results.json: written after every cell, read back by `lbbench plot` and `lbbench compare`
//! (through the model's bounded reader: a results file is untrusted input).

use crate::format::Exporter;
use anyhow::{Context, Result};
use model::read::{parse, Accept, ReadError, MAX_BYTES};
use model::results::Results;
use std::path::Path;

pub const FILE: &str = "results.json";

pub struct Json;

impl Exporter for Json {
    fn render(&self, results: &Results) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(vec![(FILE.into(), serde_json::to_vec_pretty(results)?)])
    }
}

/// Reads the results file at `path`.
pub fn read(path: &Path, accept: Accept) -> Result<Results> {
    let name = path.display().to_string();
    let size = std::fs::metadata(path)
        .with_context(|| format!("reading {name}"))?
        .len();
    if size > MAX_BYTES {
        return Err(ReadError::TooLarge(name).into());
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {name}"))?;
    Ok(parse(&bytes, &name, accept)?)
}

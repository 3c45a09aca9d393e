//! Reading results.json. A results file is shared between people (`lbbench compare` is made for
//! that), so reading one treats it as untrusted input: its schema is checked first, a cell that
//! cannot be read is named with the reason, and no histogram in it can make the reader allocate
//! more than lbbench's own bounds take ([`crate::histogram::decode`]).

use crate::cell::CellResult;
use crate::results::{Results, SCHEMA};
use serde::Deserialize;

/// Larger than any sweep writes (a cell is tens of kB): a file past it is refused unread.
pub const MAX_BYTES: u64 = 1 << 30;

/// Which schemas a reader takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accept {
    /// Only this lbbench's (what a comparison needs: both sides measured the same way).
    Current,
    /// This lbbench's and the older ones it still reads (its fields default).
    CurrentOrOlder,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0} is larger than {MAX_BYTES} bytes: not an lbbench results file")]
    TooLarge(String),
    #[error("{path} is not an lbbench results file: {reason}")]
    NotResults { path: String, reason: String },
    #[error(
        "{path} has results schema {found}; this lbbench reads schema {SCHEMA}{older}: re-run that \
         sweep with this lbbench (make bench CONFIG=...), or read it with the lbbench of the commit \
         that wrote it"
    )]
    Schema {
        path: String,
        found: u64,
        older: &'static str,
    },
    #[error("{path}: cell {index} ({label}) cannot be read: {reason}")]
    Cell {
        path: String,
        index: usize,
        label: String,
        reason: String,
    },
}

/// Reads results from `bytes` (`name` only names them in errors).
pub fn parse(bytes: &[u8], name: &str, accept: Accept) -> Result<Results, ReadError> {
    let not = |reason: String| ReadError::NotResults {
        path: name.into(),
        reason,
    };
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| not(e.to_string()))?;
    // Files from before the schema was recorded are version 1.
    let found = match value.get("schema") {
        None => 1,
        Some(s) => s
            .as_u64()
            .ok_or_else(|| not(format!("its schema is {s}, not a number")))?,
    };
    let readable = match accept {
        Accept::Current => found == u64::from(SCHEMA),
        Accept::CurrentOrOlder => (1..=u64::from(SCHEMA)).contains(&found),
    };
    if !readable {
        let older = match accept {
            Accept::Current => " only",
            Accept::CurrentOrOlder => " and older",
        };
        return Err(ReadError::Schema {
            path: name.into(),
            found,
            older,
        });
    }
    // Cells one by one, so a bad one is named.
    let cells = match value.as_object_mut().and_then(|o| o.remove("cells")) {
        Some(serde_json::Value::Array(cells)) => cells,
        _ => return Err(not("it has no list of cells".into())),
    };
    describe_older_runs(&mut value, found);
    let mut results = Results::deserialize(&value).map_err(|e| not(e.to_string()))?;
    results.cells = cells
        .into_iter()
        .enumerate()
        .map(|(index, cell)| {
            let label = format!(
                "{} cores={} {}",
                cell["strategy"].as_str().unwrap_or("?"),
                cell["cores"],
                cell["workload"].as_str().unwrap_or("?")
            );
            CellResult::deserialize(cell).map_err(|e| ReadError::Cell {
                path: name.into(),
                index,
                label,
                reason: e.to_string(),
            })
        })
        .collect::<Result<_, _>>()?;
    Ok(results)
}

/// What an older lbbench did, where a key it did not yet write would otherwise take today's
/// default: before schema 3 it started every cell's strategy afresh and had no common-rate pass;
/// before schema 4 it had no worker axis and ran every strategy it was given.
fn describe_older_runs(value: &mut serde_json::Value, found: u64) {
    for (before, section, key, was) in [
        (3, "sweep", "design", serde_json::json!("restart")),
        (3, "load", "common_rate", serde_json::json!(0.0)),
        (4, "sweep", "workers", serde_json::json!([])),
    ] {
        if found >= before {
            continue;
        }
        let table = value.get_mut("config").and_then(|c| c.get_mut(section));
        if let Some(table) = table.and_then(|t| t.as_object_mut()) {
            table.entry(key).or_insert(was);
        }
    }
}

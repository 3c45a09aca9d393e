//! `lbbench plot`: every file but results.json, again from a results file.

use super::summarize;
use crate::cli::PlotArgs;
use anyhow::Result;
use std::path::PathBuf;

pub fn plot(args: PlotArgs) -> Result<()> {
    let mut results = report::json::read(&args.results, model::read::Accept::CurrentOrOlder)?;
    // Every figure comes from the stored histograms, not from the percentiles written beside them.
    for c in &mut results.cells {
        c.load.recompute_percentiles();
        for step in &mut c.open_loop {
            step.load.recompute_percentiles();
        }
    }
    let dir = match args.out {
        Some(d) => d,
        None => args.results.parent().map(PathBuf::from).unwrap_or_default(),
    };
    let files = report::write(&results, &dir, report::derived())?;
    summarize(&results, &files);
    Ok(())
}

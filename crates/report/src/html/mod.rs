//! results/index.html: one self-contained page to read a run (no network: figures inline, style
//! and script embedded), rewritten with the other outputs after every cell. Top to bottom: the
//! question and the verdict, the figures by workload, the tables, what did not run, and what ran
//! where. Each section is one function in [`SECTIONS`]: a new one is one more entry.

pub mod compare;
mod figures;
mod open_loop;
pub mod page;
mod sections;
mod tables;
mod verdict;

use crate::format::Exporter;
use anyhow::Result;
use model::results::Results;
use page::{document, esc, Page, Section};

pub const FILE: &str = "index.html";
const QUESTION: &str = "Which way of spreading connections across worker processes gives the most \
throughput and the best tail latency at N cores, and at what CPU cost?";

pub struct Html;

impl Exporter for Html {
    fn render(&self, results: &Results) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(vec![(FILE.into(), page(results)?.into_bytes())])
    }
}

/// The sections, top to bottom; each returns nothing when it has nothing to show.
const SECTIONS: [fn(&Page) -> Vec<Section>; 11] = [
    verdict::section,
    figures::by_workload,
    tables::summary,
    tables::faults,
    tables::fairness,
    open_loop::section,
    tables::cpu,
    sections::skipped,
    sections::failures,
    sections::placement,
    sections::about,
];

/// The whole page for `results`.
pub fn page(results: &Results) -> Result<String> {
    let page = Page::new(results)?;
    let sections: Vec<Section> = SECTIONS.iter().flat_map(|section| section(&page)).collect();
    let header = format!(
        "<h1>lbbench results</h1>\n<p class=\"question\">{}</p>\n{}",
        esc(QUESTION),
        sections::headline(&page)
    );
    Ok(document("lbbench results", &header, &sections))
}

#[cfg(test)]
mod tests;

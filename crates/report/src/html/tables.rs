//! The page's tables: the summary (the same rows as the terminal and summary.md), fairness, and
//! CPU cost.

use super::page::{esc, table, Page, Section};
use crate::format::{ms, shares};
use crate::{faults as fault_table, table as summary_table};

/// Every (workload, strategy, cores): the median-throughput run with the spread, sortable.
pub fn summary(page: &Page) -> Vec<Section> {
    if page.points.is_empty() {
        return Vec::new();
    }
    let (header, rows) = summary_table::rows(page.results);
    let rows = with_swatches(page, &header, rows);
    let body = format!(
        "<p>One row per workload, strategy and core count: the run whose req/s is the median, whole, with \
         the spread over every run beside it (± is the CV of req/s). Click a column's header to sort.</p>\n{}",
        table(&header, &rows, true)
    );
    vec![Section::new("summary", "Summary table", body)]
}

/// Jain's index and the extreme workers' shares, closed loop and at each open-loop step.
pub fn fairness(page: &Page) -> Vec<Section> {
    if page.points.is_empty() {
        return Vec::new();
    }
    let rows: Vec<Vec<String>> = page
        .points
        .iter()
        .map(|p| {
            let steps: Vec<String> = page
                .results
                .cells
                .iter()
                .filter(|c| c.strategy == p.strategy && c.cores == p.cores && c.workload == p.workload)
                .flat_map(|c| &c.open_loop)
                .map(|o| format!("{:.0} %: {:.3}", o.fraction * 100.0, o.fairness.jain))
                .collect();
            vec![
                esc(p.workload.name()),
                page.strategy(&p.strategy),
                p.cores.to_string(),
                format!("{:.3}", p.fairness.jain),
                format!("{:.1}", p.fairness.max_share * 100.0),
                format!("{:.1}", p.fairness.min_share * 100.0),
                esc(&shares(&p.per_worker)),
                esc(&steps.join(", ")),
            ]
        })
        .collect();
    let body = format!(
        "<p>Jain's index over the workers' responses: 1 when even, 1/N when one of N workers took \
         everything (a worker that answered nothing counts). At low load a shared socket can hand nearly \
         everything to one worker: the open-loop steps show it.</p>\n{}",
        table(
            &[
                "workload",
                "strategy",
                "cores",
                "Jain",
                "busiest %",
                "idlest %",
                "per-worker %",
                "Jain at open-loop steps"
            ],
            &rows,
            true
        )
    );
    vec![Section::new("fairness", "Fairness", body)]
}

/// Server CPU per request, who limited the rate, and where the CPU went.
pub fn cpu(page: &Page) -> Vec<Section> {
    let measured: Vec<_> = page.points.iter().filter(|p| p.cpu_us_per_request.is_some()).collect();
    if measured.is_empty() {
        return Vec::new();
    }
    let rows: Vec<Vec<String>> = measured
        .iter()
        .map(|p| {
            let range = match p.cpu_range {
                Some((lo, hi)) if p.runs > 1 => format!("{lo:.1}–{hi:.1}"),
                _ => "-".into(),
            };
            let split: Vec<String> = p
                .by_program
                .iter()
                .map(|c| format!("{} {:.0} %", c.program, c.share * 100.0))
                .collect();
            vec![
                esc(p.workload.name()),
                page.strategy(&p.strategy),
                p.cores.to_string(),
                p.cpu_us_per_request.map_or("-".into(), |c| format!("{c:.1}")),
                esc(&range),
                format!("{:.0}", p.rps),
                ms(p.p99_us),
                esc(&p.bottleneck.map_or("-".into(), |b| b.to_string())),
                esc(&split.join(", ")),
            ]
        })
        .collect();
    let body = format!(
        "<p>Server CPU time (every process of the strategy, user and system) per 2xx response over the \
         measured window, lower is better. It stays meaningful when the client, not the server, limited the \
         rate (bottleneck: client).</p>\n{}",
        table(
            &[
                "workload",
                "strategy",
                "cores",
                "cpu µs/req",
                "range over runs",
                "req/s",
                "p99 ms",
                "bottleneck",
                "CPU by program"
            ],
            &rows,
            true
        )
    );
    vec![Section::new("cpu", "CPU cost", body)]
}

/// Per cell with a fault: what it cost and how the strategy recovered (the terminal's rows).
pub fn faults(page: &Page) -> Vec<Section> {
    let rows = fault_table::rows(page.results);
    if rows.is_empty() {
        return Vec::new();
    }
    let header = fault_table::header();
    let rows = with_swatches(page, &header, rows);
    let body = format!("<p>{}</p>\n{}", esc(fault_table::LEGEND), table(&header, &rows, true));
    vec![Section::new("faults", "Faults", body)]
}

/// Text rows as HTML cells: escaped, the strategy column with its colour and marker.
fn with_swatches(page: &Page, header: &[&str], rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    let strategy_col = header.iter().position(|h| *h == "strategy");
    rows.into_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(i, cell)| {
                    if Some(i) == strategy_col {
                        page.strategy(cell)
                    } else {
                        esc(cell)
                    }
                })
                .collect()
        })
        .collect()
}

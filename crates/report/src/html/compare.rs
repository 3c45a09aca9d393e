//! `lbbench compare --html`: the comparison as a page, with the two runs' figures side by side.

use super::page::{document, esc, list, table, Section};
use crate::compare::render;
use crate::compare::{Call, Outcome};
use crate::svg;
use anyhow::Result;
use model::results::Results;
use model::workload::Workload;

/// The page comparing `new` against `base` (`names`: how to call each, e.g. their paths).
pub fn page(base: &Results, new: &Results, c: &Outcome, names: (&str, &str)) -> Result<String> {
    let header = format!(
        "<h1>lbbench compare</h1>\n<p class=\"meta\">BASE <code>{}</code> (commit {}) · NEW <code>{}</code> \
         (commit {})</p>",
        esc(names.0),
        esc(&c.commits.0),
        esc(names.1),
        esc(&c.commits.1)
    );
    let mut sections = vec![changes(c)];
    if !c.warnings.is_empty() {
        let items = c.warnings.iter().map(|w| esc(w));
        sections.insert(0, Section::new("warnings", "Differences between the runs", list(items)));
    }
    sections.extend(side_by_side(base, new)?);
    Ok(document("lbbench compare", &header, &sections))
}

fn changes(c: &Outcome) -> Section {
    let (header, rows) = render::rows(c);
    // The calls, coloured; the other cells as text.
    let calls: Vec<usize> = header
        .iter()
        .enumerate()
        .filter(|(_, h)| ["req/s", "p99", "cpu/req"].contains(h))
        .map(|(i, _)| i)
        .collect();
    let html_rows: Vec<Vec<String>> = c
        .rows
        .iter()
        .zip(rows)
        .map(|(row, cells)| {
            cells
                .iter()
                .enumerate()
                .map(|(i, cell)| match calls.iter().position(|&k| k == i) {
                    Some(m) => {
                        let class = match row.changes[m].call {
                            Call::Better => "better",
                            Call::Worse => "worse",
                            _ => "noise",
                        };
                        format!("<span class=\"{class}\">{}</span>", esc(cell))
                    }
                    None => esc(cell),
                })
                .collect()
        })
        .collect();
    let mut body = String::from(
        "<p>NEW against BASE for every strategy, core count and workload in both: each run's geometric mean \
         over its rounds, and the change with its confidence interval in brackets (Welch's t on the logs, \
         at the level of all the comparisons together, each metric's shift over every cell taken out). \
         Better or worse only when the interval clears no change; equivalent when it lies within the \
         margin. Click a column's header to sort.</p>",
    );
    body += &table(&header, &html_rows, true);
    body += &list(render::notes(c).iter().chain(&render::tally(c)).map(|l| esc(l)));
    Section::new("changes", "Changes", body)
}

/// Both runs restricted to the strategies they share, in BASE's order, so each strategy keeps
/// one colour and marker on both sides.
fn shared(base: &Results, new: &Results) -> (Results, Results) {
    let order = base.strategies();
    let theirs = new.strategies();
    let keep: Vec<&String> = order.iter().filter(|s| theirs.contains(s)).collect();
    let only = |r: &Results| {
        let mut r = r.clone();
        r.cells.retain(|c| keep.contains(&&c.strategy));
        r.cells.sort_by_key(|c| order.iter().position(|s| s == &c.strategy));
        r
    };
    (only(base), only(new))
}

type Figure = fn(&Results, &Workload) -> Result<String>;

/// Per workload: throughput, latency and CPU per request of BASE beside NEW.
fn side_by_side(base: &Results, new: &Results) -> Result<Vec<Section>> {
    let (base, new) = shared(base, new);
    let mut sections = Vec::new();
    for w in base.workloads().into_iter().filter(|w| new.workloads().contains(w)) {
        let mut body = String::from(
            "<p>Each side has its own axes: read the changes from the table above, and the shapes here.</p>",
        );
        let mut figures: Vec<(&str, Figure)> = vec![("Throughput", svg::throughput), ("Latency", svg::latency)];
        let cpu = |r: &Results| {
            crate::points::points(r)
                .iter()
                .any(|p| p.workload == w && p.cpu_us_per_request.is_some())
        };
        if cpu(&base) && cpu(&new) {
            figures.push(("Server CPU per request", svg::cpu_per_request));
        }
        for (what, draw) in figures {
            body += &format!("<h3>{what}</h3>\n<div class=\"side\">");
            for (side, r) in [("BASE", &base), ("NEW", &new)] {
                body += &format!(
                    "<figure><div class=\"svg\">{}</div><figcaption>{side}</figcaption></figure>",
                    draw(r, &w)?
                );
            }
            body += "</div>\n";
        }
        sections.push(Section::new(
            format!("figures-{}", w.name()),
            format!("{} workload, side by side", w.name()),
            body,
        ));
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn the_compare_page_colours_calls_and_puts_figures_side_by_side() {
        let base = fixture::results();
        let mut new = base.clone();
        for c in new.cells.iter_mut().filter(|c| c.strategy == "alpha" && c.cores == 1) {
            c.load.rps *= 1.2;
        }
        new.machine.kernel = "6.18.0".into();
        let c = crate::compare::compare(&base, &new);
        let html = page(&base, &new, &c, ("a/results.json", "b/results.json")).unwrap();
        assert!(html.contains("<span class=\"better\">+20.0 % (+"), "{html}");
        assert!(html.contains("the kernel differs"));
        assert_eq!(html.matches("<div class=\"side\">").count(), 3);
        assert_eq!(html.matches("<svg width").count(), 6, "BASE and NEW of three figures");
    }
}

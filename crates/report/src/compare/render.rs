//! The comparison for people: a terminal table, markdown, and the tally of calls.

use super::{Call, Change, Comparison, Key, METRICS, ONE_RUN};
use crate::format::{aligned, ms};
use crate::markdown::pipe_table;
use crate::verdict::Metric;

/// "1001" for one run, "1001 (1000–1002)" with the range over several.
fn figure(metric: Metric, value: Option<f64>, range: Option<(f64, f64)>) -> String {
    let f = |v: f64| match metric {
        Metric::Throughput => format!("{v:.0}"),
        Metric::P99 => ms(v),
        Metric::CpuPerRequest => format!("{v:.1}"),
    };
    match (value, range) {
        (None, _) => "-".into(),
        (Some(v), None) => f(v),
        (Some(v), Some((lo, hi))) => format!("{} ({}–{})", f(v), f(lo), f(hi)),
    }
}

/// Header and rows of the comparison (text cells).
pub fn rows(c: &Comparison) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "workload",
        "strategy",
        "cores",
        "runs",
        "req/s BASE",
        "req/s NEW",
        "req/s",
        "p99 ms BASE",
        "p99 ms NEW",
        "p99",
        "cpu µs/req BASE",
        "cpu µs/req NEW",
        "cpu/req",
    ];
    let rows = c
        .rows
        .iter()
        .map(|r| {
            let mut row = vec![
                r.workload.name().to_string(),
                r.strategy.clone(),
                r.cores.to_string(),
                format!("{}/{}", r.runs.0, r.runs.1),
            ];
            for ch in &r.changes {
                row.push(figure(ch.metric, ch.base, ch.base_range));
                row.push(figure(ch.metric, ch.new, ch.new_range));
                row.push(ch.verdict());
            }
            row
        })
        .collect();
    (header, rows)
}

/// Per metric: how many cells were better, worse, within noise, and how far the figures moved.
pub fn tally(c: &Comparison) -> Vec<String> {
    METRICS
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let changes: Vec<&Change> = c
                .rows
                .iter()
                .map(|r| &r.changes[i])
                .filter(|ch| ch.ratio().is_some())
                .collect();
            if changes.is_empty() {
                return None;
            }
            let count = |call: Call| changes.iter().filter(|ch| ch.call == call).count();
            let noise = changes.iter().filter(|ch| ch.call.within_noise()).count();
            let mut moved: Vec<f64> = changes
                .iter()
                .filter_map(|ch| ch.ratio())
                .map(|r| (r - 1.0).abs() * 100.0)
                .collect();
            moved.sort_by(f64::total_cmp);
            Some(format!(
                "{}: {} cells, {} better, {} worse, {noise} within noise ({:.0} %; {} of them with one run); \
                 median change {:.1} %, largest {:.1} %",
                m.name(),
                changes.len(),
                count(Call::Better),
                count(Call::Worse),
                noise as f64 * 100.0 / changes.len() as f64,
                count(Call::OneRun),
                moved[(moved.len() - 1) / 2],
                moved[moved.len() - 1]
            ))
        })
        .collect()
}

/// The footnote, when a call has one, then the cells present in one run only.
pub fn notes(c: &Comparison) -> Vec<String> {
    let one_run = c.rows.iter().flat_map(|r| &r.changes).any(|ch| ch.call == Call::OneRun);
    let name = |k: &Key| format!("{} cores={} {}", k.0, k.1, k.2.name());
    let mut out: Vec<String> = one_run.then(|| ONE_RUN.to_string()).into_iter().collect();
    out.extend(c.only_base.iter().map(|k| format!("only in BASE: {}", name(k))));
    out.extend(c.only_new.iter().map(|k| format!("only in NEW: {}", name(k))));
    out
}

/// The terminal table, the tally and the cells present in one run only.
pub fn render_text(c: &Comparison) -> String {
    let (header, rows) = rows(c);
    let mut out = format!("BASE commit {}, NEW commit {}\n", c.commits.0, c.commits.1);
    out += &aligned(&header, &rows);
    for line in notes(c).into_iter().chain(tally(c)) {
        out += &line;
        out.push('\n');
    }
    out
}

/// The same as markdown.
pub fn render_markdown(c: &Comparison) -> String {
    let (header, rows) = rows(c);
    let mut out = format!(
        "# lbbench compare\n\nBASE commit {}, NEW commit {}. Better or worse only when every run of one beat \
         every run of the other (at least two runs each); the spread is shown in brackets.\n\n",
        c.commits.0, c.commits.1
    );
    for w in &c.warnings {
        out += &format!("> warning: {w}\n");
    }
    if !c.warnings.is_empty() {
        out.push('\n');
    }
    out += &pipe_table(&header, &rows);
    out.push('\n');
    for line in notes(c).into_iter().chain(tally(c)) {
        out += &format!("- {line}\n");
    }
    out
}

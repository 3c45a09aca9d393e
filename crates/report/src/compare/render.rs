//! The comparison for people: a terminal table, markdown, and the tally of calls.

use super::{Call, Change, Key, Outcome, METRICS, ONE_RUN};
use crate::format::{aligned, ms};
use crate::markdown::pipe_table;
use model::verdict::Metric;

/// A run's figure: the geometric mean of its rounds.
fn figure(metric: Metric, value: Option<f64>) -> String {
    match (metric, value) {
        (_, None) => "-".into(),
        (Metric::Throughput, Some(v)) => format!("{v:.0}"),
        (Metric::P99, Some(v)) => ms(v),
        (Metric::CpuPerRequest, Some(v)) => format!("{v:.1}"),
    }
}

/// Header and rows of the comparison (text cells).
pub fn rows(c: &Outcome) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "workload",
        "strategy",
        "cores",
        "runs",
        "req/s BASE",
        "req/s NEW",
        "req/s",
        "p99 ms BASE (common rate)",
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
                row.push(figure(ch.metric, ch.base));
                row.push(figure(ch.metric, ch.new));
                row.push(ch.words());
            }
            row
        })
        .collect();
    (header, rows)
}

/// Per metric: how many cells were better, worse, equivalent or undecided, and the shift.
pub fn tally(c: &Outcome) -> Vec<String> {
    METRICS
        .iter()
        .enumerate()
        .filter_map(|(i, m)| {
            let changes: Vec<&Change> = c.rows.iter().map(|r| &r.changes[i]).collect();
            let count = |call: Call| changes.iter().filter(|ch| ch.call == call).count();
            let compared = changes.iter().filter(|ch| ch.verdict.is_some()).count();
            if compared == 0 {
                return None;
            }
            let shift = c
                .shifts
                .iter()
                .find(|(s, _)| s == m)
                .map(|(_, s)| format!("; every cell's shift {:+.1} % taken out", (s - 1.0) * 100.0))
                .unwrap_or_default();
            Some(format!(
                "{}: {compared} cells compared, {} better, {} worse, {} equivalent, {} undecided{shift}",
                m.words(),
                count(Call::Better),
                count(Call::Worse),
                count(Call::Equivalent),
                count(Call::Undecided),
            ))
        })
        .collect()
}

/// The footnote, when a call has one, then the cells present in one run only.
pub fn notes(c: &Outcome) -> Vec<String> {
    let one_run = c.rows.iter().flat_map(|r| &r.changes).any(|ch| ch.call == Call::OneRun);
    let name = |k: &Key| format!("{} cores={} {}", k.0, k.1, k.2.name());
    let mut out: Vec<String> = one_run.then(|| ONE_RUN.to_string()).into_iter().collect();
    out.extend(c.only_base.iter().map(|k| format!("only in BASE: {}", name(k))));
    out.extend(c.only_new.iter().map(|k| format!("only in NEW: {}", name(k))));
    out
}

/// The terminal table, the tally and the cells present in one run only.
pub fn render_text(c: &Outcome) -> String {
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
pub fn render_markdown(c: &Outcome) -> String {
    let (header, rows) = rows(c);
    let mut out = format!(
        "# lbbench compare\n\nBASE commit {}, NEW commit {}. Each figure is the geometric mean of a run's rounds; \
         each change has its confidence interval (Welch's t over the rounds, at the level of all the comparisons \
         together) in brackets, and is called better or worse only when the interval clears no change, \
         equivalent when it lies within the margin.\n\n",
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

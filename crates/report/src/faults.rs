//! The fault section of the summary (terminal and markdown) and the fault part of a cell's
//! terminal line.

use crate::format::{aligned, ms};
use model::cell::CellResult;
use model::fault::{FaultKind, FaultReport};
use model::results::Results;

/// What the fault section's columns mean, for the markdown.
pub const LEGEND: &str = "Per cell: the fault and when it struck (from the window's opening); the requests \
failed from the fault's interval to the window's end, by kind (connect: refused; reset: the connection \
reset or closed under a request; timeout: no answer within load.request_timeout) and lost in flight \
(reset + timeout: sent and never answered); the lowest throughput of an interval between the fault and \
the recovery, as a share of the level before; the recovery (throughput back within 10 % of that level \
for half a second); p99 before the fault (the median of its intervals) and in the second after it (for a stop, until a \
second after SIGCONT: the worst of its intervals), and the slowest response of that time; what the strategy did about it (kill, term: when a new worker k named itself; \
reload: workers replaced); and how many workers answered in the window's last second.";

pub fn header() -> Vec<&'static str> {
    vec![
        "workload",
        "strategy",
        "cores",
        "fault",
        "at s",
        "failed",
        "connect",
        "reset",
        "timeout",
        "non-2xx",
        "lost in flight",
        "dip to",
        "recovery ms",
        "p99 before ms",
        "p99 after ms",
        "max after ms",
        "replaced",
        "serving at end",
        "note",
    ]
}

/// One row per cell with a fault, in the order of the summary (workload, strategy, cores).
pub fn rows(results: &Results) -> Vec<Vec<String>> {
    let (strategies, workloads) = (results.strategies(), results.workloads());
    let mut cells: Vec<(&CellResult, &FaultReport)> = results
        .cells
        .iter()
        .filter_map(|c| c.fault.as_ref().map(|f| (c, f)))
        .collect();
    cells.sort_by_key(|(c, _)| {
        (
            workloads.iter().position(|w| w == &c.workload),
            strategies.iter().position(|s| s == &c.strategy),
            c.cores,
            c.repeat,
        )
    });
    cells.into_iter().map(|(c, f)| row(c, f)).collect()
}

fn row(c: &CellResult, f: &FaultReport) -> Vec<String> {
    let injected = f.at_ms.is_some();
    let n = |v: u64| if injected { v.to_string() } else { "-".into() };
    vec![
        c.workload.name().to_string(),
        c.strategy.clone(),
        c.cores.to_string(),
        what(f),
        f.at_ms.map_or("-".into(), |a| format!("{:.2}", a / 1000.0)),
        n(f.failed()),
        n(f.errors.connect),
        n(f.errors.reset),
        n(f.errors.timeout),
        n(f.non_2xx),
        n(f.lost_in_flight),
        if injected {
            format!("{:.0} %", f.dip.min(1.0) * 100.0)
        } else {
            "-".into()
        },
        match (injected, f.recovery_ms) {
            (false, _) => "-".into(),
            (true, Some(r)) => format!("{r:.0}"),
            (true, None) => "not in the window".into(),
        },
        ms(f.p99_before_us as f64),
        ms(f.p99_fault_us as f64),
        ms(f.max_fault_us as f64),
        replaced(f, c.workers),
        format!("{}/{}", f.serving_at_end, c.workers),
        f.note.clone().unwrap_or_default(),
    ]
}

/// "kill w0", "stop w1 1.5 s", "reload".
fn what(f: &FaultReport) -> String {
    match (f.kind, f.worker) {
        (Some(FaultKind::Stop), Some(w)) => match (f.at_ms, f.resumed_ms) {
            (Some(a), Some(r)) => format!("stop w{w} {:.1} s", (r - a) / 1000.0),
            _ => format!("stop w{w}"),
        },
        (Some(k), Some(w)) => format!("{k} w{w}"),
        (Some(k), None) => k.to_string(),
        (None, _) => "-".into(),
    }
}

/// What the strategy did: "after 12 ms", "no", "2/2 by 310 ms (+2 −2 processes)".
fn replaced(f: &FaultReport, workers: usize) -> String {
    match f.kind {
        Some(FaultKind::Kill | FaultKind::Term) if f.at_ms.is_some() => match f.respawned_ms {
            Some(r) => format!("after {r:.0} ms"),
            None => "no".into(),
        },
        Some(FaultKind::Reload) if f.at_ms.is_some() => {
            let mut s = format!("{}/{workers}", f.workers_replaced.unwrap_or(0));
            if let Some(r) = f.replaced_ms {
                s += &format!(" by {r:.0} ms");
            }
            if let (Some(e), Some(st)) = (f.processes_ended, f.processes_started) {
                s += &format!(" (+{st} −{e} processes)");
            }
            s
        }
        _ => "-".into(),
    }
}

/// The fault part of a cell's terminal line.
pub fn line(c: &CellResult) -> Option<String> {
    let f = c.fault.as_ref()?;
    if f.at_ms.is_none() {
        return Some(format!(
            "fault {} not injected: {}",
            what(f),
            f.note.as_deref().unwrap_or("")
        ));
    }
    let mut s = format!(
        "fault {} at {:.2} s: {} failed ({}), {} lost in flight, throughput down to {:.0} %, ",
        what(f),
        f.at_ms.unwrap_or(0.0) / 1000.0,
        f.failed(),
        f.errors,
        f.lost_in_flight,
        f.dip.min(1.0) * 100.0
    );
    s += &match f.recovery_ms {
        Some(r) => format!("recovered in {r:.0} ms"),
        None => "not recovered in the window".into(),
    };
    s += &format!(
        ", p99 {} → {} ms (slowest {} ms), replaced: {}, {}/{} workers serving at the end",
        ms(f.p99_before_us as f64),
        ms(f.p99_fault_us as f64),
        ms(f.max_fault_us as f64),
        replaced(f, c.workers),
        f.serving_at_end,
        c.workers
    );
    if let Some(n) = &f.note {
        s += &format!(" ({n})");
    }
    Some(s)
}

/// The section as aligned text, or nothing when no cell had a fault.
pub fn render(results: &Results) -> String {
    let rows = rows(results);
    if rows.is_empty() {
        return String::new();
    }
    format!("\nfaults:\n{}", aligned(&header(), &rows))
}

/// The section as markdown, or nothing.
pub fn markdown(results: &Results) -> String {
    let rows = rows(results);
    if rows.is_empty() {
        return String::new();
    }
    let header = header();
    let mut out = format!(
        "\n## Faults\n\n{LEGEND}\n\n| {} |\n|{}\n",
        header.join(" | "),
        "---|".repeat(header.len())
    );
    for r in rows {
        out += &format!("| {} |\n", r.join(" | "));
    }
    out
}

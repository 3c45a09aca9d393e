//! What every format shares: the exporter interface and the small ways numbers are written.

use anyhow::Result;
use model::results::Results;

/// An output format: the files it makes from the results, as bytes. One writer writes them all.
pub trait Exporter {
    /// (file name, contents) of every file of this format.
    fn render(&self, results: &Results) -> Result<Vec<(String, Vec<u8>)>>;
}

/// Formats microseconds as milliseconds for people.
pub fn ms(us: f64) -> String {
    format!("{:.2}", us / 1000.0)
}

/// Worker ids in numeric order ("2" before "10"); ids that are not numbers after those, by text.
pub fn worker_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

/// "49/51" — each worker's share of responses in percent, by worker id.
pub fn shares(per_worker: &[(String, u64)]) -> String {
    let total: u64 = per_worker.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return "-".into();
    }
    per_worker
        .iter()
        .map(|(_, n)| format!("{:.0}", *n as f64 * 100.0 / total as f64))
        .collect::<Vec<_>>()
        .join("/")
}

/// `rows` under `header`, each column as wide as its widest cell.
pub fn aligned(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(&header.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    out += &line(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>());
    for r in rows {
        out += &line(r);
    }
    out
}

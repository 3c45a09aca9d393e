//! The verdict for people: a line per (workload, cores, metric, leader: one per worker), and how
//! sure each strategy's standing is, for the summary table.

use model::results::Results;
use model::verdict::{Call, Comparison, Metric};
use model::workload::Workload;

/// "+12.3 % (+8.1…+16.0)": how much better, with the interval, in percent.
pub fn percent(c: &Comparison) -> String {
    let p = |r: f64| format!("{:+.1}", (r - 1.0) * 100.0);
    format!("{} % ({}…{})", p(c.ratio), p(c.ci[0]), p(c.ci[1]))
}

fn cores_words(cores: usize) -> String {
    format!("{cores} core{}", if cores == 1 { "" } else { "s" })
}

/// Names, all of them up to a handful, else the first ones and how many more.
fn names(list: &[&Comparison]) -> String {
    const SHOWN: usize = 4;
    let mut shown: Vec<String> = list.iter().take(SHOWN).map(|c| c.b.clone()).collect();
    if list.len() > SHOWN {
        shown.push(format!("{} more", list.len() - SHOWN));
    }
    shown.join(", ")
}

/// One line per (workload, cores, metric) compared in `all` (the comparisons of `r`): who leads,
/// ahead of whom and by how much, what is within the margin, and what stayed undecided with the
/// rounds that would decide it.
pub fn lines(r: &Results, all: &[Comparison]) -> Vec<String> {
    let margin = r.config.verdict.margin * 100.0;
    let mut keys: Vec<(Workload, usize, Metric, &str)> = Vec::new();
    for c in all.iter() {
        let key = (c.workload.clone(), c.cores, c.metric, c.a.as_str());
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    keys.into_iter()
        .map(|(workload, cores, metric, leader)| {
            let here: Vec<&Comparison> = all
                .iter()
                .filter(|c| c.workload == workload && c.cores == cores && c.metric == metric && c.a == leader)
                .collect();
            let of = |call: Call| -> Vec<&Comparison> { here.iter().copied().filter(|c| c.call == call).collect() };
            let (ahead, behind, same, open) = (of(Call::A), of(Call::B), of(Call::Equivalent), of(Call::Undecided));
            let what = match metric {
                Metric::P99 => "p99 at the common rate",
                m => m.words(),
            };
            let mut parts = Vec::new();
            if !ahead.is_empty() {
                let lo = ahead.iter().map(|c| c.ci[0]).fold(f64::INFINITY, f64::min);
                parts.push(format!(
                    "ahead of {} ({}) by at least {:.1} %",
                    ahead.len(),
                    names(&ahead),
                    (lo - 1.0) * 100.0
                ));
            }
            if !same.is_empty() {
                parts.push(format!("within {margin:.0} % of {} ({})", same.len(), names(&same)));
            }
            if !behind.is_empty() {
                parts.push(format!("behind {} ({})", behind.len(), names(&behind)));
            }
            if !open.is_empty() {
                let detail: Vec<String> = open.iter().take(3).map(|c| format!("{} {}", c.b, percent(c))).collect();
                let need = open.iter().filter_map(|c| c.rounds_needed).max();
                parts.push(format!(
                    "undecided against {} ({}{}){}",
                    open.len(),
                    detail.join(", "),
                    if open.len() > 3 { ", …" } else { "" },
                    match need {
                        Some(n) => format!(": about {n} rounds in all would decide them"),
                        None => String::new(),
                    }
                ));
            }
            let mut line = format!(
                "{}, {}, {what}: {leader} leads; {}",
                workload.name(),
                cores_words(cores),
                parts.join("; ")
            );
            if let Some(note) = here.iter().find_map(|c| c.note.as_deref()) {
                line += &format!(" ({note})");
            }
            line
        })
        .collect()
}

/// How sure the standing of `strategy` in (workload, cores) is, in the group's headline metric:
/// leading, behind by how much, within the margin, or undecided, with the interval.
pub fn how_sure(r: &Results, cs: &[Comparison], strategy: &str, cores: usize, workload: &Workload) -> String {
    let here = cs
        .iter()
        .filter(|c| c.cores == cores && &c.workload == workload && c.metric != Metric::P99);
    let mut led = false;
    for c in here {
        if c.a == strategy {
            led = true;
        } else if c.b == strategy {
            return match c.call {
                Call::A => format!("{} ahead by {}", c.a, percent(c)),
                Call::B => format!("ahead of {}", c.a),
                Call::Equivalent => format!("within {:.0} % of {}", r.config.verdict.margin * 100.0, c.a),
                Call::Undecided => format!("undecided {}", percent(c)),
            };
        }
    }
    if led {
        "leads".into()
    } else {
        "-".into()
    }
}

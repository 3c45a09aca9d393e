//! The summary people read in the terminal (and, as markdown, in results/summary.md).

use crate::format::{aligned, ms, shares};
use crate::points::Point;
use crate::points::NOISY_CV;
use model::cell::CellResult;
use model::load::FAILED_SHARE;
use model::results::Results;

/// The terminal line for one measured cell, with what makes its figures doubtful.
pub fn cell_line(c: &CellResult) -> String {
    let l = &c.load;
    let non_2xx: u64 = l.non_2xx.values().sum();
    let per_worker: Vec<(String, u64)> = l.per_worker.iter().map(|(k, v)| (k.clone(), *v)).collect();
    let mut line = format!(
        "{:.0} req/s (2xx), p50 {} ms, p99 {} ms, {non_2xx} non-2xx, {} errors, per-worker {}",
        l.rps,
        ms(l.latency_us.p50 as f64),
        ms(l.latency_us.p99 as f64),
        l.errors,
        shares(&per_worker)
    );
    if let Some(cpu) = &c.cpu {
        line += &format!(
            ", server {:.1} µs CPU/req ({:.0} % of its {} CPU{})",
            cpu.server_cpu_us_per_request,
            cpu.server_cpu_util * 100.0,
            c.cores,
            if c.cores == 1 { "" } else { "s" }
        );
    }
    if let Some(b) = c.bottleneck {
        line += &format!(", bottleneck: {b}");
    }
    if l.failed_share() > FAILED_SHARE {
        line += &format!(
            " — WARNING: {:.1} % of requests got non-2xx or failed; req/s counts 2xx only",
            l.failed_share() * 100.0
        );
    }
    if l.client_saturated {
        line += " — WARNING: client saturated, the figure may be the client's limit";
    }
    if let Some(fault) = super::faults::line(c) {
        line += &format!("\n  {fault}");
    }
    line
}

/// Rows of the summary: one per (workload, strategy, cores), from the median-throughput run,
/// with the spread over all runs.
pub fn rows(results: &Results) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "workload",
        "strategy",
        "cores",
        "req/s",
        "± (CV)",
        "how sure",
        "p50 ms",
        "p99 ms",
        "p99 range ms",
        "non-2xx",
        "errors",
        "Jain",
        "per-worker %",
        "cpu µs/req",
        "bottleneck",
        "capacity req/s",
        "notes",
    ];
    let cs = crate::verdict::of(results);
    let rows = crate::points::points(results)
        .into_iter()
        .map(|p| {
            let mut row = row(&p);
            row.insert(
                5,
                crate::verdict::how_sure(results, &cs, &p.strategy, p.cores, &p.workload),
            );
            row
        })
        .collect();
    (header, rows)
}

fn row(p: &Point) -> Vec<String> {
    let mut notes = Vec::new();
    if p.runs > 1 {
        notes.push(format!("median-throughput run of {}", p.runs));
    }
    if p.noisy() {
        notes.push(format!(
            "NOISY (CV {:.1} % > {:.0} %): do not rank",
            p.rps_cv * 100.0,
            NOISY_CV * 100.0
        ));
    }
    if p.failed_share > FAILED_SHARE {
        notes.push(format!("{:.1} % non-2xx or failed", p.failed_share * 100.0));
    }
    if p.shared_cpus {
        notes.push("client shared server CPUs".to_string());
    }
    if p.client_saturated {
        notes.push("CLIENT SATURATED".to_string());
    }
    if p.capacity_client_limited {
        notes.push(match p.capacity_server_missed {
            Some(miss) => format!(
                "capacity: below {miss:.0} req/s, where the server missed; the client fell behind its schedule in between"
            ),
            None => "capacity: the client fell behind its schedule first".to_string(),
        });
    }
    let (spread, p99_range) = if p.runs > 1 {
        (
            format!("{:.1} %", p.rps_cv * 100.0),
            format!("{}–{}", ms(p.p99_range.0), ms(p.p99_range.1)),
        )
    } else {
        ("-".into(), "-".into())
    };
    vec![
        p.workload.name().to_string(),
        p.strategy.clone(),
        p.cores.to_string(),
        format!("{:.0}", p.rps),
        spread,
        ms(p.p50_us),
        ms(p.p99_us),
        p99_range,
        p.non_2xx.to_string(),
        p.errors.to_string(),
        format!("{:.3}", p.fairness.jain),
        shares(&p.per_worker),
        p.cpu_us_per_request.map_or("-".into(), |c| format!("{c:.1}")),
        p.bottleneck.map_or("-".into(), |b| b.to_string()),
        match p.capacity {
            Some((rps, true)) => format!("≥ {rps:.0}"),
            Some((rps, false)) => format!("{rps:.0}"),
            None => "-".into(),
        },
        notes.join("; "),
    ]
}

/// The summary as a plain-text table, the fault section after it, then what was skipped or failed.
pub fn render(results: &Results) -> String {
    let (header, rows) = rows(results);
    let mut out = aligned(&header, &rows);
    for line in super::verdict::added::lines(results)
        .into_iter()
        .chain(open_loop_lines(results))
    {
        out += &format!("{line}\n");
    }
    out += &super::faults::render(results);
    for s in &results.skipped {
        out += &format!("skipped {}: {}\n", s.strategy, s.reason);
    }
    for f in &results.failures {
        out += &format!("failed {}\n", f.headline());
    }
    out
}

/// A line per open-loop fraction: how many steps measured the server cleanly, and of the others
/// how many met whose limit (or the machine's noise), so a sweep says at a glance how much of its
/// latency under load it can stand behind.
pub fn open_loop_lines(results: &Results) -> Vec<String> {
    use std::collections::BTreeMap;
    // Keyed by whole percent: the fractions come from one config, so equal ones print alike.
    let mut by_fraction: BTreeMap<u32, (usize, usize, BTreeMap<String, usize>)> = BTreeMap::new();
    for p in super::points::load_points(results) {
        let (all, clean, not) = by_fraction.entry((p.fraction * 100.0).round() as u32).or_default();
        *all += 1;
        let why = match (p.miss, &p.spoiled) {
            (Some(miss), _) => miss.label(),
            (None, Some(_)) => "the machine's noise (steal or other work)",
            (None, None) => {
                *clean += 1;
                continue;
            }
        };
        *not.entry(why.to_string()).or_default() += 1;
    }
    by_fraction
        .into_iter()
        .map(|(percent, (all, clean, not))| {
            let mut why: Vec<(String, usize)> = not.into_iter().collect();
            why.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            let why: Vec<String> = why.into_iter().map(|(w, n)| format!("{n} {w}")).collect();
            let not = if why.is_empty() { String::new() } else { format!("; not: {}", why.join(", ")) };
            format!(
                "open loop at {percent} % of each maximum: {clean} of {all} steps measured the server cleanly ({:.0} %){not}",
                100.0 * clean as f64 / all.max(1) as f64
            )
        })
        .collect()
}

/// Where a sweep's time went, summed over its cells: what to shorten when it is too slow.
pub fn time_spent(results: &Results, wall_s: f64) -> String {
    let t = results.cells.iter().fold([0.0; 5], |mut sum, c| {
        let t = &c.timings;
        for (s, v) in sum
            .iter_mut()
            .zip([t.ready_s, t.closed_s, t.open_loop_s, t.capacity_s, t.stop_s])
        {
            *s += v;
        }
        sum
    });
    let other = (wall_s - t.iter().sum::<f64>()).max(0.0);
    let parts = ["starting", "closed loop", "open loop", "capacity", "stopping", "other"];
    let shares: Vec<String> = parts
        .iter()
        .zip(t.iter().chain([&other]))
        .filter(|(_, s)| **s > 0.0)
        .map(|(p, s)| format!("{p} {:.0} s ({:.0} %)", s, 100.0 * s / wall_s.max(1e-9)))
        .collect();
    format!(
        "{} runs in {:.1} min: {}\n",
        results.cells.len() + results.failures.len(),
        wall_s / 60.0,
        shares.join(", ")
    )
}

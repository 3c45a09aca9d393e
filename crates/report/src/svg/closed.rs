//! Figures of the closed-loop cells against server cores: throughput, latency, fairness.

use super::draw::{closed_run, document, draw_strategy, frame, mesh, Axis, Mark, Root, FONT, LABEL_PX, SIZE, WIDE};
use crate::points::Point;
use anyhow::Result;
use model::results::Results;
use model::workload::Workload;
use plotters::prelude::*;

const NOTE: &str = "hollow: client and server shared CPUs · red cross: client saturated · \
\"!\": over 1 % of requests got non-2xx or failed";

/// A figure of the closed-loop cells of `workload`: framed, titled "<what> — <workload>", with
/// the run's description as subtitle; `draw` fills the body.
fn closed_figure(
    results: &Results,
    workload: &Workload,
    size: (u32, u32),
    what: &str,
    draw: impl FnOnce(&Root<'_>) -> Result<()>,
) -> Result<String> {
    document(size, |root| {
        let title = format!("{what} — {} workload", workload.name());
        draw(&frame(root, results, &title, &closed_run(results), NOTE)?)
    })
}

/// Requests per second against server cores, a line per strategy. Higher is better.
pub fn throughput(results: &Results, workload: &Workload) -> Result<String> {
    closed_figure(results, workload, SIZE, "Throughput", |area| {
        let y = Axis {
            desc: "2xx responses per second (higher is better)",
            value: &|p| p.rps,
            range: &|p| (p.runs > 1).then_some(p.rps_range),
            top: None,
        };
        panel(area, results, workload, "", &y)
    })
}

/// p50 and p99 latency against server cores, a line per strategy, one panel each. Lower is better.
pub fn latency(results: &Results, workload: &Workload) -> Result<String> {
    closed_figure(results, workload, WIDE, "Latency", |area| {
        let (left, right) = area.split_horizontally(area.dim_in_pixel().0 / 2);
        let p50 = Axis {
            desc: "p50 latency, ms (lower is better)",
            value: &|p| p.p50_us / 1000.0,
            range: &|_| None,
            top: None,
        };
        panel(&left, results, workload, "p50", &p50)?;
        let p99 = Axis {
            desc: "p99 latency, ms (lower is better)",
            value: &|p| p.p99_us / 1000.0,
            range: &|p| (p.runs > 1).then_some((p.p99_range.0 / 1000.0, p.p99_range.1 / 1000.0)),
            top: None,
        };
        panel(&right, results, workload, "p99", &p99)
    })
}

/// Server CPU time per 2xx response against server cores. Lower is better; it stays meaningful
/// when the client, not the server, limited the rate.
pub fn cpu_per_request(results: &Results, workload: &Workload) -> Result<String> {
    closed_figure(results, workload, SIZE, "Server CPU per request", |area| {
        let y = Axis {
            desc: "server CPU µs per 2xx response (lower is better)",
            value: &|p| p.cpu_us_per_request.unwrap_or(0.0),
            range: &|p| p.cpu_range.filter(|_| p.runs > 1),
            top: None,
        };
        panel(area, results, workload, "", &y)
    })
}

/// Capacity under the latency objective against server cores. Higher is better.
pub fn capacity(results: &Results, workload: &Workload) -> Result<String> {
    let target = results.config.slo.p99.map(|d| format!("{d:?}")).unwrap_or_default();
    let desc = format!("highest rate with corrected p99 ≤ {target} (higher is better)");
    closed_figure(
        results,
        workload,
        SIZE,
        "Capacity under the latency objective",
        |area| {
            let y = Axis {
                desc: &desc,
                value: &|p| p.capacity.map_or(0.0, |(rps, _)| rps),
                range: &|_| None,
                top: None,
            };
            panel(area, results, workload, "", &y)
        },
    )
}

/// Jain's fairness index over the workers against server cores. 1 is even; 1/N, one worker took all.
pub fn fairness(results: &Results, workload: &Workload) -> Result<String> {
    closed_figure(results, workload, SIZE, "Fairness", |area| {
        let y = Axis {
            desc: "Jain's index over the workers' responses (1 = even)",
            value: &|p| p.fairness.jain,
            range: &|_| None,
            top: Some(1.05),
        };
        panel(area, results, workload, "", &y)
    })
}

/// One chart: a line per strategy through its points against server cores (bars for few core counts).
fn panel(area: &Root<'_>, r: &Results, workload: &Workload, caption: &str, y: &Axis) -> Result<()> {
    let points: Vec<Point> = crate::points::points(r)
        .into_iter()
        .filter(|p| &p.workload == workload)
        .collect();
    let mut cores: Vec<i32> = points.iter().map(|p| p.cores as i32).collect();
    cores.sort_unstable();
    cores.dedup();
    if cores.len() <= super::bars::MAX_CORE_COUNTS {
        return super::bars::panels(area, r, &points, &cores, caption, y);
    }
    let (lo, hi) = (cores.first().copied().unwrap_or(1), cores.last().copied().unwrap_or(1));
    let highest = |p: &Point| (y.range)(p).map_or((y.value)(p), |(_, h)| h.max((y.value)(p)));
    let top = y
        .top
        .unwrap_or_else(|| points.iter().map(highest).fold(0.0, f64::max).max(1e-9) * 1.1);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, LABEL_PX + 3))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(84)
        .build_cartesian_2d((lo - 1)..(hi + 1), 0.0..top)?;
    let label = |x: &i32| {
        if cores.contains(x) {
            x.to_string()
        } else {
            String::new()
        }
    };
    mesh(
        &mut chart,
        "server cores (CPU budget of every process of the strategy)",
        y.desc,
        &label,
    )?;
    let dashes = super::draw::dashes(r);
    for (i, name) in r.strategies().iter().enumerate() {
        let marks: Vec<Mark<i32>> = points
            .iter()
            .filter(|p| &p.strategy == name)
            .map(|p| Mark {
                at: (p.cores as i32, (y.value)(p)),
                hollow: p.shared_cpus,
                cross: p.client_saturated,
                failed: p.failed_share > model::load::FAILED_SHARE,
                range: (y.range)(p),
            })
            .collect();
        draw_strategy(&mut chart, i, dashes[i], &marks)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_second_workers_lines_are_dashed() {
        // Three core counts: a figure of lines, not bars.
        let mut solid = crate::fixture::results();
        let more: Vec<_> = solid.cells.iter().filter(|c| c.cores == 2).cloned().collect();
        solid
            .cells
            .extend(more.into_iter().map(|c| model::cell::CellResult { cores: 3, ..c }));
        let mut r = solid.clone();
        for c in r.cells.iter_mut().filter(|c| c.strategy == "beta") {
            c.worker = "node".into();
        }
        let lines = |r| {
            super::throughput(r, &"keepalive".into())
                .unwrap()
                .matches("<polyline")
                .count()
        };
        // A dashed line is drawn a dash at a time: more segments than the same line solid.
        let (dashed, plain) = (lines(&r), lines(&solid));
        // More than the legend's one line and its key's two can add: the data's line is dashed.
        assert!(dashed > plain + 10, "{dashed} segments dashed, {plain} solid");
    }
}

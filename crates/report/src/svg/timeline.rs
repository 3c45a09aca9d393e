//! The timeline of fault cells: throughput and p99 interval by interval, one panel per strategy
//! (a column per core count), the fault marked by a vertical line.

use super::draw::{document, framed, human, style, Root, FONT, GREY, LABEL_PX};
use anyhow::Result;
use model::cell::CellResult;
use model::results::Results;
use model::workload::Workload;
use plotters::prelude::*;

const NOTE: &str = "red line: the fault · green: its worker replaced (or the reload done) · grey: a stopped \
worker continued · below: p99 (and, faint, the slowest) of the responses completed in each interval";
const PANEL_H: u32 = 300;

/// Whether `workload` has any cell with a fault and a timeline.
pub fn applies(results: &Results, workload: &Workload) -> bool {
    results.cells.iter().any(|c| &c.workload == workload && shown(c))
}

fn shown(c: &CellResult) -> bool {
    c.fault.as_ref().is_some_and(|f| f.at_ms.is_some()) && c.load.timeline.is_some()
}

/// One panel per (strategy, cores) of `workload`: 2xx per second above, p99 below.
pub fn timeline(results: &Results, workload: &Workload) -> Result<String> {
    let cells = first_runs(results, workload);
    let strategies: Vec<String> = results
        .strategies()
        .into_iter()
        .filter(|s| cells.iter().any(|c| &c.strategy == s))
        .collect();
    let mut cores: Vec<usize> = cells.iter().map(|c| c.cores).collect();
    cores.sort_unstable();
    cores.dedup();
    let height = 150 + PANEL_H * strategies.len().max(1) as u32;
    let width = 300 + 560 * cores.len().max(1) as u32;
    document((width, height), |root| {
        let kind = cells
            .iter()
            .find_map(|c| c.fault.as_ref()?.kind)
            .map_or("fault".into(), |k| k.to_string());
        let title = format!("Timeline of a {kind} — {} workload", workload.name());
        let run = format!(
            "{:?} window, {} ms intervals, first run of each cell",
            results.config.load.duration,
            cells
                .first()
                .and_then(|c| c.load.timeline.as_ref())
                .map_or(0, |t| t.interval_ms)
        );
        // No legend: each panel names its strategy.
        let (area, _) = framed(root, results, &title, &run, NOTE)?;
        let grid = area.split_evenly((strategies.len().max(1), cores.len().max(1)));
        for (r, name) in strategies.iter().enumerate() {
            let colour = results.strategies().iter().position(|s| s == name).unwrap_or(0);
            for (col, &n) in cores.iter().enumerate() {
                let panel = &grid[r * cores.len() + col];
                match cells.iter().find(|c| &c.strategy == name && c.cores == n) {
                    Some(c) => draw_cell(panel, c, colour)?,
                    None => {
                        panel.draw(&Text::new(
                            format!("{name} · {n} cores: no run"),
                            (20, 20),
                            (FONT, LABEL_PX),
                        ))?;
                    }
                }
            }
        }
        Ok(())
    })
}

/// The first run of each (strategy, cores) of `workload` that has a fault to show.
fn first_runs<'a>(results: &'a Results, workload: &Workload) -> Vec<&'a CellResult> {
    let mut out: Vec<&CellResult> = Vec::new();
    for c in results.cells.iter().filter(|c| &c.workload == workload && shown(c)) {
        if !out.iter().any(|o| o.strategy == c.strategy && o.cores == c.cores) {
            out.push(c);
        }
    }
    out
}

fn draw_cell(area: &Root<'_>, c: &CellResult, colour: usize) -> Result<()> {
    let (Some(t), Some(f)) = (c.load.timeline.as_ref(), c.fault.as_ref()) else {
        return Ok(());
    };
    let every = t.interval_ms.max(1) as f64 / 1000.0;
    let right = t.ok.len() as f64 * every;
    // Each interval's value at its middle.
    let at = |j: usize| (j as f64 + 0.5) * every;
    let rps: Vec<(f64, f64)> =
        t.ok.iter()
            .enumerate()
            .map(|(j, &n)| (at(j), n as f64 / every))
            .collect();
    let answered = |j: &usize| t.ok[*j] + t.non_2xx[*j] > 0;
    let p99: Vec<(f64, f64)> = (0..t.ok.len())
        .filter(answered)
        .map(|j| (at(j), t.p99_us[j] as f64 / 1000.0))
        .collect();
    let max: Vec<(f64, f64)> = (0..t.max_us.len())
        .filter(answered)
        .map(|j| (at(j), t.max_us[j] as f64 / 1000.0))
        .collect();
    let (upper, lower) = area.split_vertically(area.dim_in_pixel().1 * 55 / 100);
    let caption = format!(
        "{} · {} core{} · {} failed",
        c.strategy,
        c.cores,
        if c.cores == 1 { "" } else { "s" },
        f.failed()
    );
    let (color, _) = style(colour);
    let mut marks = vec![(f.at_ms, RED.stroke_width(2))];
    let done = f.respawned_ms.or(f.replaced_ms).zip(f.at_ms).map(|(d, a)| a + d);
    marks.push((done, RGBColor(0, 158, 115).stroke_width(2)));
    marks.push((f.resumed_ms, GREY.stroke_width(2)));
    let panels = [
        (&upper, &rps, "2xx/s", Some(caption), None),
        (&lower, &p99, "p99 (max) ms", None, Some(&max)),
    ];
    for (half, points, y_desc, caption, faint) in panels {
        let top = points
            .iter()
            .chain(faint.into_iter().flatten())
            .map(|p| p.1)
            .fold(0.0, f64::max)
            .max(1e-3)
            * 1.1;
        let mut builder = ChartBuilder::on(half);
        builder.margin(8).x_label_area_size(36).y_label_area_size(64);
        if let Some(text) = &caption {
            builder.caption(text, (FONT, LABEL_PX));
        }
        let mut chart = builder.build_cartesian_2d(0.0..right, 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("s into the window")
            .y_desc(y_desc)
            .y_label_formatter(&|y| human(*y))
            .label_style((FONT, LABEL_PX - 3))
            .axis_desc_style((FONT, LABEL_PX - 3))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()?;
        if let Some(m) = faint {
            chart.draw_series(LineSeries::new(m.iter().copied(), color.mix(0.35).stroke_width(1)))?;
        }
        chart.draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?;
        for (ms, stroke) in &marks {
            if let Some(ms) = ms {
                let x = ms / 1000.0;
                chart.draw_series(DashedLineSeries::new([(x, 0.0), (x, top)], 6, 4, *stroke))?;
            }
        }
    }
    Ok(())
}

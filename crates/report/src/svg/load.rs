//! Latency under load: p99 against offered load (open loop), a small panel per strategy (by name) on one
//! shared log axis, a line per core count. Offered load is the share of the strategy's own
//! closed-loop maximum, so panels of strategies 100× apart read alike; points not measured
//! cleanly (the rate not reached, or the machine's noise over the threshold after the redos) are
//! drawn faint (the page's open-loop table says why).

use super::draw::{document, draw_legend, draw_marks, entries, framed, human, style, Root, FONT, LABEL_PX};
use crate::points::LoadPoint;
use anyhow::Result;
use model::results::Results;
use model::workload::Workload;
use plotters::prelude::*;

const NOTE: &str = "latency from each request's intended send time (lower is better), log scale · \
hollow: client and server shared CPUs · faint cross: not measured cleanly, the offered rate not \
reached or the machine's noise over the threshold (why: the page's open-loop table)";

/// Panels per row, and each row's height.
const COLUMNS: usize = 6;
const ROW_PX: u32 = 210;
/// Above the panels: title, subtitle; below: the note.
const FRAME_PX: u32 = 110;
const FAINT: RGBColor = RGBColor(205, 205, 205);

/// p99 latency against offered load for `workload`: a panel per strategy.
pub fn latency_vs_load(results: &Results, workload: &Workload) -> Result<String> {
    let points: Vec<LoadPoint> = crate::points::load_points(results)
        .into_iter()
        .filter(|p| &p.workload == workload && p.p99_us > 0.0)
        .collect();
    // By name, not in the run's shuffled order: a strategy's variants and its +worker pairs sit
    // side by side (haproxy, haproxy+node, haproxy-shards).
    let mut strategies: Vec<String> = results
        .strategies()
        .into_iter()
        .filter(|s| points.iter().any(|p| &p.strategy == s))
        .collect();
    strategies.sort_unstable();
    let mut cores: Vec<usize> = points.iter().map(|p| p.cores).collect();
    cores.sort_unstable();
    cores.dedup();
    let rows = strategies.len().div_ceil(COLUMNS).max(1);
    let size = (1360, FRAME_PX + ROW_PX * rows as u32);
    // One log axis for every panel: whole decades around every point.
    let (lo, hi) = points
        .iter()
        .map(|p| (p.p99_us / 1000.0).log10())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let decades = if lo.is_finite() {
        (lo.floor(), hi.ceil().max(lo.floor() + 1.0))
    } else {
        (-1.0, 1.0)
    };
    document(size, |root| {
        let title = format!("Latency under load — {} workload", workload.name());
        let run = format!(
            "open loop, {:?} per step, first round; offered load as a share of each strategy's maximum",
            results.config.load.open_loop_duration
        );
        let (area, legend) = framed(root, results, &title, &run, NOTE)?;
        let labels: Vec<String> = cores
            .iter()
            .map(|n| format!("{n} server core{}", if *n == 1 { "" } else { "s" }))
            .collect();
        draw_legend(&legend, &entries(&labels, &[]))?;
        let panels = area.split_evenly((rows, COLUMNS));
        for (panel, name) in panels.iter().zip(&strategies) {
            let mine: Vec<&LoadPoint> = points.iter().filter(|p| &p.strategy == name).collect();
            load_panel(panel, &mine, &cores, name, decades)?;
        }
        Ok(())
    })
}

fn load_panel(area: &Root<'_>, points: &[&LoadPoint], cores: &[usize], name: &str, y: (f64, f64)) -> Result<()> {
    let mut chart = ChartBuilder::on(area)
        .caption(name, (FONT, LABEL_PX))
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(44)
        .build_cartesian_2d(0.0..1.0, y.0..y.1)?;
    chart
        .configure_mesh()
        .x_labels(3)
        .y_labels((y.1 - y.0) as usize + 1)
        .x_label_formatter(&|x| format!("{:.0} %", x * 100.0))
        .y_label_formatter(&|v| format!("{} ms", human(10f64.powf(*v))))
        .label_style((FONT, 11))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for (i, n) in cores.iter().enumerate() {
        let mut mine: Vec<&&LoadPoint> = points.iter().filter(|p| p.cores == *n).collect();
        mine.sort_by(|a, b| a.fraction.total_cmp(&b.fraction));
        let at = |p: &LoadPoint| (p.fraction, (p.p99_us / 1000.0).log10());
        let (color, _) = style(i);
        chart.draw_series(LineSeries::new(mine.iter().map(|p| at(p)), color.stroke_width(1)))?;
        for hollow in [false, true] {
            let clean: Vec<(f64, f64)> = mine
                .iter()
                .filter(|p| p.clean() && p.shared_cpus == hollow)
                .map(|p| at(p))
                .collect();
            draw_marks(&mut chart, i, &clean, hollow)?;
        }
        chart.draw_series(
            mine.iter()
                .filter(|p| !p.clean())
                .map(|p| Cross::new(at(p), 6, FAINT.stroke_width(2))),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_go_by_name_whatever_order_the_run_met_them() {
        let mut results = crate::fixture::results();
        results.cells.reverse();
        let svg = latency_vs_load(&results, &Workload::from("keepalive")).unwrap();
        let at = |name: &str| {
            svg.find(&format!(">\n{name}\n<"))
                .unwrap_or_else(|| panic!("no panel {name}"))
        };
        assert!(at("alpha") < at("beta"), "beta's panel before alpha's");
    }
}

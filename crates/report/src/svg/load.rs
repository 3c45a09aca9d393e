//! Latency under load: p99 against offered load (open loop), one panel per core count.

use super::draw::{document, draw_strategy, frame, human, mesh, Mark, Root, FONT, LABEL_PX, WIDE};
use crate::points::LoadPoint;
use anyhow::Result;
use model::results::Results;
use model::workload::Workload;
use plotters::prelude::*;

const NOTE: &str = "latency from each request's intended send time (lower is better) · hollow: client and \
server shared CPUs · red cross: offered rate not reached";

/// p99 latency against offered load, a line per strategy, one panel per core count.
pub fn latency_vs_load(results: &Results, workload: &Workload) -> Result<String> {
    let points: Vec<LoadPoint> = crate::points::load_points(results)
        .into_iter()
        .filter(|p| &p.workload == workload)
        .collect();
    let mut cores: Vec<usize> = points.iter().map(|p| p.cores).collect();
    cores.sort_unstable();
    cores.dedup();
    document(WIDE, |root| {
        let title = format!("Latency under load — {} workload", workload.name());
        let run = format!(
            "open loop, {:?} per step, first run",
            results.config.load.open_loop_duration
        );
        let area = frame(root, results, &title, &run, NOTE)?;
        let panels = area.split_evenly((1, cores.len().max(1)));
        for (panel, &n) in panels.iter().zip(&cores) {
            let mine: Vec<&LoadPoint> = points.iter().filter(|p| p.cores == n).collect();
            let caption = format!("{n} server core{}", if n == 1 { "" } else { "s" });
            load_panel(panel, results, &mine, &caption)?;
        }
        Ok(())
    })
}

fn load_panel(area: &Root<'_>, r: &Results, points: &[&LoadPoint], caption: &str) -> Result<()> {
    let right = points.iter().map(|p| p.target_rps).fold(0.0, f64::max).max(1.0) * 1.05;
    let top = points.iter().map(|p| p.p99_us / 1000.0).fold(0.0, f64::max).max(1e-3) * 1.1;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, LABEL_PX + 3))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(84)
        .build_cartesian_2d(0.0..right, 0.0..top)?;
    mesh(
        &mut chart,
        "offered load (requests per second)",
        "p99 latency, ms",
        &|x| human(*x),
    )?;
    for (i, name) in r.strategies().iter().enumerate() {
        let mut mine: Vec<&&LoadPoint> = points.iter().filter(|p| &p.strategy == name).collect();
        if mine.is_empty() {
            continue;
        }
        mine.sort_by(|a, b| a.target_rps.total_cmp(&b.target_rps));
        let marks: Vec<Mark<f64>> = mine
            .iter()
            .map(|p| Mark {
                at: (p.target_rps, p.p99_us / 1000.0),
                hollow: p.shared_cpus,
                cross: !p.rate_reached,
                failed: false,
                range: None,
            })
            .collect();
        draw_strategy(&mut chart, i, &marks)?;
    }
    Ok(())
}

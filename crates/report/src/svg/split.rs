//! Where each strategy's CPU goes: a bar per (strategy, cores), split by program — the balancing
//! layer (master, proxy, nginx...) against the workers.

use super::draw::{closed_run, document, framed, Root, FONT, LABEL_PX};
use crate::points::Point;
use anyhow::Result;
use model::results::Results;
use model::workload::Workload;
use plotters::prelude::*;

const NOTE: &str = "share of the strategy's CPU time by program, of the median-throughput run · \
\"workers (x)\": the processes that serve requests, forked by x";
/// Workers, the program that forked them, and anything else.
const ROLES: [RGBColor; 3] = [RGBColor(0, 114, 178), RGBColor(230, 159, 0), RGBColor(0, 158, 115)];

/// Horizontal bars, one per (strategy, cores) of `workload`, split by program.
pub fn cpu_split(results: &Results, workload: &Workload) -> Result<String> {
    let bars: Vec<Point> = crate::points::points(results)
        .into_iter()
        .filter(|p| &p.workload == workload && !p.by_program.is_empty())
        .collect();
    let height = (120 + 34 * bars.len() as u32).max(360);
    document((1100, height), |root| {
        let title = format!("Server CPU by program — {} workload", workload.name());
        let (area, legend) = framed(root, results, &title, &closed_run(results), NOTE)?;
        for (i, (color, what)) in ROLES
            .iter()
            .zip(["workers", "what forked them", "anything else"])
            .enumerate()
        {
            let y = 40 + 28 * i as i32;
            legend.draw(&Rectangle::new([(8, y), (26, y + 16)], color.filled()))?;
            legend.draw(&Text::new(what, (34, y + 2), (FONT, LABEL_PX - 1)))?;
        }
        draw_bars(&area, &bars)
    })
}

fn draw_bars(area: &Root<'_>, bars: &[Point]) -> Result<()> {
    let n = bars.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(170)
        .build_cartesian_2d(0.0..100.0, 0.0..n)?;
    let label = |y: &f64| {
        let i = (n - y.floor() - 1.0) as usize;
        match bars.get(i) {
            Some(p) if y.fract() == 0.5 => format!(
                "{} · {} core{}",
                p.strategy,
                p.cores,
                if p.cores == 1 { "" } else { "s" }
            ),
            _ => String::new(),
        }
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc("share of the strategy's CPU time (%)")
        .y_labels(bars.len() * 2 + 1)
        .y_label_formatter(&label)
        .label_style((FONT, LABEL_PX - 1))
        .axis_desc_style((FONT, LABEL_PX))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for (i, p) in bars.iter().enumerate() {
        let y = n - i as f64 - 1.0;
        let mut left = 0.0;
        for prog in &p.by_program {
            let width = prog.share * 100.0;
            let color = ROLES[role(&p.by_program, &prog.program)];
            chart.draw_series([Rectangle::new(
                [(left, y + 0.15), (left + width, y + 0.85)],
                color.filled(),
            )])?;
            if width >= 12.0 {
                let text = format!("{} {:.0} %", prog.program, width);
                let style = (FONT, LABEL_PX - 3).into_font().color(&WHITE);
                chart.draw_series([Text::new(text, (left + 1.0, y + 0.62), style)])?;
            }
            left += width;
        }
    }
    Ok(())
}

/// 0 for the workers, 1 for the program that forked them, 2 for the rest.
fn role(programs: &[model::cpu::ProgramCpu], name: &str) -> usize {
    if name.starts_with("workers (") {
        return 0;
    }
    let forked_workers = programs
        .iter()
        .any(|p| p.program.strip_prefix("workers (").and_then(|r| r.strip_suffix(')')) == Some(name));
    if forked_workers {
        1
    } else {
        2
    }
}

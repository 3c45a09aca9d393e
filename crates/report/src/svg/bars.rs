//! The closed-loop figures as bars, for sweeps of one or two core counts: a panel per core count,
//! a horizontal bar per strategy, named beside it. With two x positions, 11 crossing lines with
//! overlapping markers read worse than bars ranked side by side.

use super::draw::{draw_marks, human, style, Axis, Root, FONT, LABEL_PX};
use crate::points::Point;
use anyhow::Result;
use model::load::FAILED_SHARE;
use model::results::Results;
use plotters::prelude::*;

/// Up to this many core counts the closed-loop figures are bars; beyond, lines against cores.
pub const MAX_CORE_COUNTS: usize = 2;
/// Narrower panels than this go one above the other instead of side by side.
const MIN_PANEL_W: u32 = 380;

/// A bar panel per core count in `cores`, each with every strategy in legend order.
pub fn panels(area: &Root<'_>, r: &Results, points: &[Point], cores: &[i32], caption: &str, y: &Axis) -> Result<()> {
    let n = cores.len().max(1);
    let (w, _) = area.dim_in_pixel();
    let split = if w / n as u32 >= MIN_PANEL_W {
        area.split_evenly((1, n))
    } else {
        area.split_evenly((n, 1))
    };
    let highest = |p: &Point| (y.range)(p).map_or((y.value)(p), |(_, h)| h.max((y.value)(p)));
    // Room right of the longest bar for its value.
    let top = y
        .top
        .unwrap_or_else(|| points.iter().map(highest).fold(0.0, f64::max).max(1e-9))
        * 1.15;
    for (panel, &c) in split.iter().zip(cores) {
        let title = format!(
            "{caption}{}{c} server core{}",
            if caption.is_empty() { "" } else { " · " },
            if c == 1 { "" } else { "s" }
        );
        let mine: Vec<&Point> = points.iter().filter(|p| p.cores as i32 == c).collect();
        bars(panel, r, &mine, &title, y, top)?;
    }
    Ok(())
}

fn bars(area: &Root<'_>, r: &Results, points: &[&Point], title: &str, y: &Axis, top: f64) -> Result<()> {
    let names = r.strategies();
    let rows = names.len().max(1) as f64;
    // Room for the longest name at about 8 px a character (the labels' font is 14 px).
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0) as u32;
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, LABEL_PX + 1))
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size((longest * 8 + 16).clamp(60, 240))
        .build_cartesian_2d(0.0..top, 0.0..rows)?;
    // Row k's centre is at rows - k - 0.5: the key points at every half give one label per row.
    let label = |v: &f64| {
        let k = (rows - v.floor() - 1.0) as usize;
        match names.get(k) {
            Some(name) if v.fract() == 0.5 => name.clone(),
            _ => String::new(),
        }
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(y.desc)
        .x_labels(6)
        .x_label_formatter(&|x| human(*x))
        .y_labels(names.len() * 2 + 1)
        .y_label_formatter(&label)
        .label_style((FONT, LABEL_PX - 1))
        .axis_desc_style((FONT, LABEL_PX - 1))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for (k, name) in names.iter().enumerate() {
        let Some(p) = points.iter().find(|p| &p.strategy == name) else {
            continue;
        };
        let (colour, _) = style(k);
        let (v, centre) = ((y.value)(p), rows - k as f64 - 0.5);
        let (low, high) = (centre - 0.32, centre + 0.32);
        let bar = if p.shared_cpus {
            colour.stroke_width(2)
        } else {
            colour.mix(0.55).filled()
        };
        chart.draw_series([Rectangle::new([(0.0, low), (v, high)], bar)])?;
        let range = (y.range)(p);
        if let Some((lo, hi)) = range {
            chart.draw_series([ErrorBar::new_horizontal(centre, lo, v, hi, BLACK.stroke_width(1), 8)])?;
        }
        draw_marks(&mut chart, k, &[(v, centre)], p.shared_cpus)?;
        if p.client_saturated {
            chart.draw_series([Cross::new((v, centre), 9, RED.stroke_width(2))])?;
        }
        let flag = if p.failed_share > FAILED_SHARE { " !" } else { "" };
        let text = format!("{}{flag}", human(v));
        let font = (FONT, LABEL_PX - 2)
            .into_font()
            .color(&if flag.is_empty() { BLACK } else { RED });
        // Past the whisker, so the value never sits on it.
        let end = range.map_or(v, |(_, hi)| hi.max(v));
        chart.draw_series([EmptyElement::at((end, centre)) + Text::new(text, (10, -6), font)])?;
    }
    Ok(())
}

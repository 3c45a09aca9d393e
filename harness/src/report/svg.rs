//! The figures: one function per figure taking a path; size, fonts and palette shared.

use super::{Exporter, LoadPoint, Point, Results};
use crate::config::Workload;
use anyhow::{anyhow, Result};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

const SIZE: (u32, u32) = (960, 600);
const WIDE: (u32, u32) = (1280, 600);
const FONT: &str = "sans-serif";
const TITLE_PX: u32 = 24;
const SUBTITLE_PX: u32 = 14;
const LABEL_PX: u32 = 15;
/// Distinct, colour-blind-friendly hues (Tableau 10, then two more).
const PALETTE: [RGBColor; 12] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(0, 0, 128),
    RGBColor(128, 64, 0),
];
const NOTE: &str = "hollow marker: client and server shared CPUs · red cross: client saturated (≥ 90 % busy)";
const LOAD_NOTE: &str = "open loop, latency from each request's intended send time · hollow marker: client and server \
shared CPUs · red cross: offered rate not reached";

pub struct Svg;

impl Exporter for Svg {
    fn render(&self, results: &Results) -> Result<Vec<(String, Vec<u8>)>> {
        let mut files = Vec::new();
        for w in results.workloads() {
            let name = w.name();
            files.push((format!("throughput-{name}.svg"), throughput(results, w)?));
            files.push((format!("latency-{name}.svg"), latency(results, w)?));
            if results.load_points().iter().any(|p| p.workload == w) {
                files.push((format!("latency-vs-load-{name}.svg"), latency_vs_load(results, w)?));
            }
        }
        Ok(files.into_iter().map(|(n, svg)| (n, svg.into_bytes())).collect())
    }
}

type Root<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// An SVG document of `size`, drawn by `draw`.
fn document(size: (u32, u32), draw: impl FnOnce(&Root<'_>) -> Result<()>) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        draw(&root)?;
        root.present().map_err(|e| anyhow!("drawing an SVG: {e}"))?;
    }
    Ok(out)
}

/// A figure of the closed-loop cells of `workload`: framed, titled "<what> — <workload>", with
/// the run's description as subtitle; `draw` fills the body.
fn closed_figure(
    results: &Results,
    workload: Workload,
    size: (u32, u32),
    what: &str,
    draw: impl FnOnce(&Root<'_>) -> Result<()>,
) -> Result<String> {
    document(size, |root| {
        let title = format!("{what} — {} workload", workload.name());
        draw(&frame(root, results, &title, &closed_run(results), NOTE)?)
    })
}

/// Requests per second against server cores, a line per strategy.
pub fn throughput(results: &Results, workload: Workload) -> Result<String> {
    closed_figure(results, workload, SIZE, "Throughput", |area| {
        panel(area, results, workload, "", "requests per second", |p| p.rps)
    })
}

/// Median p50 and p99 latency against server cores, a line per strategy, one panel each.
pub fn latency(results: &Results, workload: Workload) -> Result<String> {
    closed_figure(results, workload, WIDE, "Latency", |area| {
        let (left, right) = area.split_horizontally(WIDE.0 / 2);
        panel(&left, results, workload, "p50", "p50 latency (ms)", |p| {
            p.p50_us / 1000.0
        })?;
        panel(&right, results, workload, "p99", "p99 latency (ms)", |p| {
            p.p99_us / 1000.0
        })
    })
}

/// p99 latency against offered load (open loop), a line per strategy, one panel per core count.
pub fn latency_vs_load(results: &Results, workload: Workload) -> Result<String> {
    let points: Vec<LoadPoint> = results
        .load_points()
        .into_iter()
        .filter(|p| p.workload == workload)
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
        let area = frame(root, results, &title, &run, LOAD_NOTE)?;
        let panels = area.split_evenly((1, cores.len().max(1)));
        for (panel, &n) in panels.iter().zip(&cores) {
            let mine: Vec<&LoadPoint> = points.iter().filter(|p| p.cores == n).collect();
            load_panel(
                panel,
                results,
                &mine,
                &format!("{n} server core{}", if n == 1 { "" } else { "s" }),
            )?;
        }
        Ok(())
    })
}

fn load_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    r: &Results,
    points: &[&LoadPoint],
    caption: &str,
) -> Result<()> {
    let right = points.iter().map(|p| p.target_rps).fold(0.0, f64::max).max(1.0) * 1.05;
    // Latency climbs steeply somewhere on the left for slow strategies: keep the upper part of the
    // panel free of data, so the legend there hides no curve.
    let top = points.iter().map(|p| p.p99_us / 1000.0).fold(0.0, f64::max).max(1e-3) * 1.9;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, LABEL_PX + 3))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(84)
        .build_cartesian_2d(0.0..right, 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("offered load (requests per second)")
        .y_desc("p99 latency (ms)")
        .x_label_formatter(&|x| human(*x))
        .y_label_formatter(&|y| human(*y))
        .label_style((FONT, LABEL_PX))
        .axis_desc_style((FONT, LABEL_PX))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
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
            })
            .collect();
        draw_strategy(&mut chart, i, name, &marks)?;
    }
    legend(&mut chart)?;
    Ok(())
}

/// White background, title, the machine and `run` (what was measured) as subtitle, `note` (the
/// marker legend) as footer.
fn frame<'a>(
    root: &DrawingArea<SVGBackend<'a>, Shift>,
    r: &Results,
    title: &str,
    run: &str,
    note: &str,
) -> Result<DrawingArea<SVGBackend<'a>, Shift>> {
    root.fill(&WHITE)?;
    let area = root.titled(title, (FONT, TITLE_PX))?;
    let m = &r.machine;
    let subtitle = format!(
        "{} · {} CPUs · Linux {} · {} connections · {run}",
        m.cpu_model, m.cpus, m.kernel, r.config.load.connections
    );
    let area = area.titled(&subtitle, (FONT, SUBTITLE_PX).into_font().color(&RGBColor(90, 90, 90)))?;
    let (body, footer) = area.split_vertically(area.dim_in_pixel().1 - 22);
    footer.draw_text(note, &(FONT, 12).into_font().color(&RGBColor(90, 90, 90)), (12, 4))?;
    Ok(body)
}

/// One chart: `value` of each strategy's median points against cores.
fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    r: &Results,
    workload: Workload,
    caption: &str,
    y_desc: &str,
    value: impl Fn(&Point) -> f64,
) -> Result<()> {
    let points: Vec<Point> = r.points().into_iter().filter(|p| p.workload == workload).collect();
    let cores: Vec<i32> = {
        let mut c: Vec<i32> = points.iter().map(|p| p.cores as i32).collect();
        c.sort_unstable();
        c.dedup();
        c
    };
    let (lo, hi) = (cores.first().copied().unwrap_or(1), cores.last().copied().unwrap_or(1));
    let top = points.iter().map(&value).fold(0.0, f64::max).max(1e-9) * 1.15;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, LABEL_PX + 3))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(84)
        .build_cartesian_2d((lo - 1)..(hi + 1), 0.0..top)?;
    chart
        .configure_mesh()
        .x_desc("server cores (CPU budget of every process of the strategy)")
        .y_desc(y_desc)
        .x_labels((hi - lo + 3) as usize)
        .x_label_formatter(&|x| {
            if cores.contains(x) {
                x.to_string()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| human(*y))
        .label_style((FONT, LABEL_PX))
        .axis_desc_style((FONT, LABEL_PX))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    for (i, name) in r.strategies().iter().enumerate() {
        let marks: Vec<Mark<i32>> = points
            .iter()
            .filter(|p| &p.strategy == name)
            .map(|p| Mark {
                at: (p.cores as i32, value(p)),
                hollow: p.shared_cpus,
                cross: p.client_saturated,
            })
            .collect();
        draw_strategy(&mut chart, i, name, &marks)?;
    }
    legend(&mut chart)?;
    Ok(())
}

/// A plotted point: filled, hollow when client and server shared CPUs, crossed in red when flagged.
struct Mark<X> {
    at: (X, f64),
    hollow: bool,
    cross: bool,
}

type Chart<'a, 'b, X> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, RangedCoordf64>>;

/// Strategy `i`'s line in its palette colour, its markers, and its legend entry.
fn draw_strategy<X>(chart: &mut Chart<'_, '_, X>, i: usize, name: &str, marks: &[Mark<X::ValueType>]) -> Result<()>
where
    X: Ranged,
    X::ValueType: Clone + 'static,
{
    let color = PALETTE[i % PALETTE.len()];
    chart
        .draw_series(LineSeries::new(
            marks.iter().map(|m| m.at.clone()),
            color.stroke_width(2),
        ))?
        .label(name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(3)));
    chart.draw_series(marks.iter().map(|m| {
        let style = if m.hollow {
            color.stroke_width(2)
        } else {
            color.filled()
        };
        Circle::new(m.at.clone(), 5, style)
    }))?;
    chart.draw_series(
        marks
            .iter()
            .filter(|m| m.cross)
            .map(|m| Cross::new(m.at.clone(), 8, RED.stroke_width(2))),
    )?;
    Ok(())
}

/// The legend box, upper left.
fn legend<'a, 'b: 'a, X>(chart: &mut Chart<'a, 'b, X>) -> Result<()>
where
    X: Ranged,
    X::ValueType: Clone + 'static,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, LABEL_PX - 1))
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(200, 200, 200))
        .draw()?;
    Ok(())
}

/// How the closed-loop cells were measured: window and repeats.
fn closed_run(r: &Results) -> String {
    let repeats = r.config.sweep.repeats;
    let runs = if repeats > 1 {
        format!("median of {repeats} runs")
    } else {
        "1 run".into()
    };
    format!("{:?} per cell · {runs}", r.config.load.duration)
}

/// 12000 → "12k", 1.5 → "1.5".
fn human(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else if v >= 10.0 || v == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

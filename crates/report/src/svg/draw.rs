//! What every figure shares: size, fonts, palette and marker shapes, the frame with its title
//! and legend, how a strategy's points are drawn, the axis of a panel, and how numbers are
//! written on axes.

use crate::points::Point;
use anyhow::{anyhow, Result};
use model::results::Results;
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

pub const SIZE: (u32, u32) = (1040, 600);
pub const WIDE: (u32, u32) = (1360, 600);
/// Width of the legend strip at the right of every figure: the legend never covers data.
pub const LEGEND_W: u32 = 190;
pub const FONT: &str = "sans-serif";
pub const TITLE_PX: u32 = 24;
pub const SUBTITLE_PX: u32 = 14;
pub const LABEL_PX: u32 = 15;
/// Okabe & Ito's colour-blind-safe palette (its yellow darkened to read on white).
pub const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(213, 94, 0),
    RGBColor(86, 180, 233),
    RGBColor(204, 121, 167),
    RGBColor(0, 0, 0),
];
pub const GREY: RGBColor = RGBColor(90, 90, 90);

/// Marker shapes, cycled beside the colours (7 colours × 6 shapes: 42 distinct strategies).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Circle,
    Square,
    TriangleUp,
    Diamond,
    TriangleDown,
    Hexagon,
}

pub const SHAPES: [Shape; 6] = [
    Shape::Circle,
    Shape::Square,
    Shape::TriangleUp,
    Shape::Diamond,
    Shape::TriangleDown,
    Shape::Hexagon,
];

/// Dash patterns (dash, gap; px), one per worker by its place in the run's worker order: the
/// first worker's lines are solid, so a run of one worker looks as it always did. Each series
/// (a pair too) keeps its own colour and marker; the dash tells which worker answered it.
pub const DASHES: [Option<(u32, u32)>; 4] = [None, Some((9, 5)), Some((2, 4)), Some((16, 4))];

/// A series' dash, by the worker that answered it (indexed like `Results::strategies`).
pub fn dashes(r: &Results) -> Vec<Option<(u32, u32)>> {
    let workers = r.workers();
    r.strategies()
        .iter()
        .map(|s| {
            let worker = r.cells.iter().find(|c| &c.strategy == s).map(|c| &c.worker);
            let k = worker.and_then(|w| workers.iter().position(|x| x == w)).unwrap_or(0);
            DASHES[k % DASHES.len()]
        })
        .collect()
}

/// Strategy `i`'s colour and shape, the same in every figure.
pub fn style(i: usize) -> (RGBColor, Shape) {
    (PALETTE[i % PALETTE.len()], SHAPES[i % SHAPES.len()])
}

impl Shape {
    /// The outline, in pixels around the point.
    pub fn outline(self) -> Vec<(i32, i32)> {
        let r = 6.0;
        let around = |n: usize, turn: f64| -> Vec<(i32, i32)> {
            (0..n)
                .map(|k| {
                    let a = turn + k as f64 * std::f64::consts::TAU / n as f64;
                    ((r * a.cos()).round() as i32, (r * a.sin()).round() as i32)
                })
                .collect()
        };
        use std::f64::consts::{FRAC_PI_2, FRAC_PI_4};
        match self {
            Shape::Circle => around(16, 0.0),
            Shape::Square => around(4, FRAC_PI_4),
            Shape::TriangleUp => around(3, -FRAC_PI_2),
            Shape::Diamond => around(4, 0.0),
            Shape::TriangleDown => around(3, FRAC_PI_2),
            Shape::Hexagon => around(6, 0.0),
        }
    }
}

/// A plotted point: filled, or hollow when client and server shared CPUs; crossed in red and
/// marked "!" when its figures are doubtful.
pub struct Mark<X> {
    pub at: (X, f64),
    pub hollow: bool,
    /// A red cross: the client was saturated (or the offered rate was not reached).
    pub cross: bool,
    /// A "!": over 1 % of requests got non-2xx or failed.
    pub failed: bool,
    /// An error bar over the repeats: (lowest, highest).
    pub range: Option<(f64, f64)>,
}

pub type Root<'a> = DrawingArea<SVGBackend<'a>, Shift>;
pub type Chart<'a, 'b, X> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<X, RangedCoordf64>>;

/// An SVG document of `size`, drawn by `draw`.
pub fn document(size: (u32, u32), draw: impl FnOnce(&Root<'_>) -> Result<()>) -> Result<String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        draw(&root)?;
        root.present().map_err(|e| anyhow!("drawing an SVG: {e}"))?;
    }
    Ok(out)
}

/// White background, title, the machine and `run` (what was measured) as subtitle, `note` (what
/// the markers mean) as footer, and the strategies' legend in a strip of its own on the right.
/// Returns the area left for the charts.
pub fn frame<'a>(root: &Root<'a>, r: &Results, title: &str, run: &str, note: &str) -> Result<Root<'a>> {
    let (charts, legend) = framed(root, r, title, run, note)?;
    draw_legend(&legend, &run_legend(r))?;
    Ok(charts)
}

/// The frame of [`frame`], with the legend strip left empty for the caller: (charts, legend).
pub fn framed<'a>(root: &Root<'a>, r: &Results, title: &str, run: &str, note: &str) -> Result<(Root<'a>, Root<'a>)> {
    root.fill(&WHITE)?;
    let area = root.titled(title, (FONT, TITLE_PX))?;
    let m = &r.machine;
    let subtitle = format!(
        "{} · {} CPUs · Linux {} · {} connections · {run}",
        m.cpu_model, m.cpus, m.kernel, r.config.load.connections
    );
    let area = area.titled(&subtitle, (FONT, SUBTITLE_PX).into_font().color(&GREY))?;
    let (body, footer) = area.split_vertically(area.dim_in_pixel().1 - 22);
    footer.draw_text(note, &(FONT, 12).into_font().color(&GREY), (12, 4))?;
    Ok(body.split_horizontally(body.dim_in_pixel().0 - LEGEND_W))
}

/// One row of a legend: a series (its colour, marker and dash) or a key to a worker's dash.
pub struct Entry {
    pub name: String,
    /// The series' place in the run's order (its colour and marker); `None` for a key row,
    /// drawn in grey without a marker.
    pub series: Option<usize>,
    pub dash: Option<(u32, u32)>,
}

/// A legend of series in order, with dashes from `dashes` (none where it has no entry).
pub fn entries(names: &[String], dashes: &[Option<(u32, u32)>]) -> Vec<Entry> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| Entry {
            name: name.clone(),
            series: Some(i),
            dash: dashes.get(i).copied().flatten(),
        })
        .collect()
}

/// The legend of a run's series, then (when more than one worker answered) which line is
/// which worker.
pub fn run_legend(r: &Results) -> Vec<Entry> {
    let mut rows = entries(&r.strategies(), &dashes(r));
    let workers = r.workers();
    if workers.len() > 1 {
        rows.extend(workers.iter().enumerate().map(|(k, w)| Entry {
            name: format!("worker {w}"),
            series: None,
            dash: DASHES[k % DASHES.len()],
        }));
    }
    rows
}

/// Each row's line, marker and name, top to bottom.
pub fn draw_legend(area: &Root<'_>, rows: &[Entry]) -> Result<()> {
    let n = rows.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .margin_top(30)
        .margin_right(8)
        .build_cartesian_2d(0.0..1.0, 0.0..n.max(14.0))?;
    for (row, e) in rows.iter().enumerate() {
        let y = n.max(14.0) - row as f64 - 0.5;
        let colour = e.series.map_or(GREY, |i| style(i).0);
        draw_line(&mut chart, vec![(0.02, y), (0.2, y)], colour.stroke_width(2), e.dash)?;
        if let Some(i) = e.series {
            draw_marks(&mut chart, i, &[(0.11, y)], false)?;
        }
        chart.draw_series([Text::new(e.name.clone(), (0.25, y + 0.25), (FONT, LABEL_PX - 1))])?;
    }
    Ok(())
}

/// A line through `points`, solid or dashed (dash, gap; px).
pub fn draw_line<X>(
    chart: &mut Chart<'_, '_, X>,
    points: Vec<(X::ValueType, f64)>,
    line: ShapeStyle,
    dash: Option<(u32, u32)>,
) -> Result<()>
where
    X: Ranged,
    X::ValueType: Clone + 'static,
{
    match dash {
        None => chart.draw_series(LineSeries::new(points, line))?,
        Some((on, off)) => chart.draw_series(DashedLineSeries::new(points, on, off, line))?,
    };
    Ok(())
}

/// Markers of strategy `i` at `points`.
pub fn draw_marks<X>(chart: &mut Chart<'_, '_, X>, i: usize, points: &[(X::ValueType, f64)], hollow: bool) -> Result<()>
where
    X: Ranged,
    X::ValueType: Clone + 'static,
{
    let (color, shape) = style(i);
    let outline = shape.outline();
    if hollow {
        chart.draw_series(points.iter().map(|p| {
            let mut path = outline.clone();
            path.push(outline[0]);
            EmptyElement::at(p.clone()) + PathElement::new(path, color.stroke_width(2))
        }))?;
    } else {
        chart.draw_series(
            points
                .iter()
                .map(|p| EmptyElement::at(p.clone()) + Polygon::new(outline.clone(), color.filled())),
        )?;
    }
    Ok(())
}

/// Strategy `i`'s line (dashed as its worker's), error bars, markers, and the flags on them.
pub fn draw_strategy<X>(
    chart: &mut Chart<'_, '_, X>,
    i: usize,
    dash: Option<(u32, u32)>,
    marks: &[Mark<X::ValueType>],
) -> Result<()>
where
    X: Ranged,
    X::ValueType: Clone + 'static,
{
    let (color, _) = style(i);
    let line = marks.iter().map(|m| m.at.clone()).collect();
    draw_line(chart, line, color.stroke_width(2), dash)?;
    chart.draw_series(marks.iter().filter_map(|m| {
        let (lo, hi) = m.range?;
        Some(ErrorBar::new_vertical(
            m.at.0.clone(),
            lo,
            m.at.1,
            hi,
            color.stroke_width(1),
            10,
        ))
    }))?;
    for hollow in [false, true] {
        let at: Vec<_> = marks
            .iter()
            .filter(|m| m.hollow == hollow)
            .map(|m| m.at.clone())
            .collect();
        draw_marks(chart, i, &at, hollow)?;
    }
    chart.draw_series(
        marks
            .iter()
            .filter(|m| m.cross)
            .map(|m| Cross::new(m.at.clone(), 9, RED.stroke_width(2))),
    )?;
    chart.draw_series(
        marks
            .iter()
            .filter(|m| m.failed)
            .map(|m| EmptyElement::at(m.at.clone()) + Text::new("!", (8, -20), (FONT, 18).into_font().color(&RED))),
    )?;
    Ok(())
}

/// The mesh of a chart: axis descriptions, label formatting, light grid.
pub fn mesh<X>(
    chart: &mut Chart<'_, '_, X>,
    x_desc: &str,
    y_desc: &str,
    x_label: &dyn Fn(&X::ValueType) -> String,
) -> Result<()>
where
    X: Ranged + plotters::coord::ranged1d::ValueFormatter<X::ValueType>,
    X::ValueType: Clone + 'static,
{
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(x_label)
        .y_label_formatter(&|y| human(*y))
        .label_style((FONT, LABEL_PX))
        .axis_desc_style((FONT, LABEL_PX))
        .light_line_style(RGBColor(235, 235, 235))
        .draw()?;
    Ok(())
}

/// How the closed-loop cells were measured: window and repeats.
pub fn closed_run(r: &Results) -> String {
    let repeats = r.rounds();
    let runs = if repeats > 1 {
        format!("the median-throughput run of {repeats}, bars: lowest–highest run")
    } else {
        "1 run".into()
    };
    format!("{:?} per cell · {runs}", r.config.load.duration)
}

/// 12000 → "12k", 1.5 → "1.5".
pub fn human(v: f64) -> String {
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

/// What a panel plots up the y axis (along the bars, in a bar chart).
pub struct Axis<'a> {
    pub desc: &'a str,
    pub value: &'a dyn Fn(&Point) -> f64,
    /// An error bar over the repeats, where there is one.
    pub range: &'a dyn Fn(&Point) -> Option<(f64, f64)>,
    /// A fixed top of the axis (else from the data).
    pub top: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_is_dashed_by_its_worker_and_the_legend_says_which_is_which() {
        let mut r = crate::fixture::results();
        let one = run_legend(&r);
        assert_eq!(dashes(&r), vec![None, None], "one worker: solid lines");
        assert_eq!(one.len(), 2, "no key for a single worker");
        for c in r.cells.iter_mut().filter(|c| c.strategy == "beta") {
            c.worker = "node".into();
        }
        assert_eq!(dashes(&r), vec![None, DASHES[1]]);
        let rows = run_legend(&r);
        let keys: Vec<_> = rows
            .iter()
            .filter(|e| e.series.is_none())
            .map(|e| (e.name.as_str(), e.dash))
            .collect();
        assert_eq!(keys, vec![("worker hello", None), ("worker node", DASHES[1])]);
    }

    #[test]
    fn every_strategy_of_a_large_sweep_gets_its_own_look() {
        let looks: Vec<String> = (0..42).map(|i| format!("{:?}", style(i))).collect();
        let mut distinct = looks.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), looks.len());
    }
}

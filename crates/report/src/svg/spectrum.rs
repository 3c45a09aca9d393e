//! The latency percentile spectrum (HdrHistogram's plotter view): latency against percentile on
//! a "nines" axis, one line per strategy, from the stored histograms of every run of a cell
//! merged exactly. Tails differ where medians agree; this shows where.

use super::draw::{document, draw_marks, frame, human, Root, FONT, LABEL_PX, SIZE};
use anyhow::Result;
use hdrhistogram::Histogram;
use model::results::Results;
use model::workload::Workload;
use plotters::prelude::*;

const NOTE: &str = "latency at each percentile, both axes logarithmic (lower is better) · a line ends \
where its requests run out · hollow: client and server shared CPUs · red cross at a line's end: client saturated";
/// The deepest percentile drawn: 99.9999 %.
const MAX_NINES: f64 = 6.0;
/// Points per nine along each line.
const STEPS_PER_NINE: f64 = 20.0;

/// x on the nines axis: 0 for 0 %, 1 for 90 %, 2 for 99 %, 3 for 99.9 %…
pub fn nines(quantile: f64) -> f64 {
    -(1.0 - quantile).max(1e-12).log10()
}

/// The percentile at `x` on the nines axis, as a label: "99.9 %".
fn percentile_label(x: f64) -> String {
    let pct = (1.0 - 10f64.powf(-x)) * 100.0;
    let decimals = (x.round() as usize).saturating_sub(2);
    format!("{pct:.decimals$} %")
}

/// Every run of (strategy, cores, workload) merged into one histogram: (histogram, shared CPUs,
/// client saturated); None when no run stored one.
pub fn merged(r: &Results, strategy: &str, workload: &Workload, cores: usize) -> Option<(Histogram<u64>, bool, bool)> {
    let runs: Vec<_> = r
        .cells
        .iter()
        .filter(|c| c.strategy == strategy && &c.workload == workload && c.cores == cores)
        .filter(|c| !c.load.histograms.latency.0.is_empty())
        .collect();
    let mut h = runs.first()?.load.histograms.latency.0.clone();
    for c in &runs[1..] {
        h.add(&c.load.histograms.latency.0).ok()?;
    }
    let shared = runs.iter().any(|c| c.shared_cpus);
    let saturated = runs.iter().any(|c| c.load.client_saturated);
    Some((h, shared, saturated))
}

/// The (workload, cores) pairs that have a stored histogram, in sweep order.
pub fn spectra(r: &Results) -> Vec<(Workload, usize)> {
    let mut keys: Vec<(Workload, usize)> = r
        .cells
        .iter()
        .filter(|c| !c.load.histograms.latency.0.is_empty())
        .map(|c| (c.workload.clone(), c.cores))
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

/// The file a spectrum figure is written to.
pub fn spectrum_file(workload: &Workload, cores: usize) -> String {
    format!("spectrum-{}-cores-{cores}.svg", workload.name())
}

/// (nines, latency in ms) along `h`, up to the deepest percentile its count supports.
pub fn line(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    let deepest = (h.len() as f64).log10().clamp(1.0, MAX_NINES);
    let steps = (deepest * STEPS_PER_NINE).ceil() as usize;
    (0..=steps)
        .map(|k| {
            let x = deepest * k as f64 / steps as f64;
            let q = 1.0 - 10f64.powf(-x);
            (x, h.value_at_quantile(q) as f64 / 1000.0)
        })
        .collect()
}

/// Latency against percentile for every strategy of (workload, cores).
pub fn spectrum(results: &Results, workload: &Workload, cores: usize) -> Result<String> {
    let dashes = super::draw::dashes(results);
    let lines: Vec<Line> = results
        .strategies()
        .iter()
        .enumerate()
        .filter_map(|(i, s)| {
            let (h, shared, saturated) = merged(results, s, workload, cores)?;
            Some(Line {
                strategy: i,
                dash: dashes[i],
                points: line(&h),
                shared,
                saturated,
            })
        })
        .collect();
    document(SIZE, |root| {
        let title = format!(
            "Latency spectrum — {} workload, {cores} server core{}",
            workload.name(),
            if cores == 1 { "" } else { "s" }
        );
        let run = format!(
            "{:?} per cell · every run merged (up to {} per cell)",
            results.config.load.duration,
            results.rounds()
        );
        let area = frame(root, results, &title, &run, NOTE)?;
        draw(&area, &lines)
    })
}

/// One strategy's line: its place in the legend, (nines, ms), and its flags.
struct Line {
    strategy: usize,
    dash: Option<(u32, u32)>,
    points: Vec<(f64, f64)>,
    shared: bool,
    saturated: bool,
}

fn draw(area: &Root<'_>, lines: &[Line]) -> Result<()> {
    let all = || lines.iter().flat_map(|l| l.points.iter());
    let right = all().map(|p| p.0).fold(3.0, f64::max).ceil();
    let logs = || all().map(|p| p.1.max(1e-3).log10());
    let lowest = logs().fold(f64::INFINITY, f64::min);
    let bottom = if lowest.is_finite() { lowest.floor() } else { -1.0 };
    let top = logs().fold(bottom + 1.0, f64::max).ceil();
    let mut chart = ChartBuilder::on(area)
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(84)
        .build_cartesian_2d(0.0..right, bottom..top)?;
    chart
        .configure_mesh()
        .x_desc("percentile (\"nines\": each step one more 9)")
        .y_desc("latency, ms (log scale, lower is better)")
        .x_labels(right as usize + 1)
        .y_labels((top - bottom) as usize + 1)
        .x_label_formatter(&|x| percentile_label(*x))
        .y_label_formatter(&|y| human(10f64.powf(*y)))
        .label_style((FONT, LABEL_PX))
        .axis_desc_style((FONT, LABEL_PX))
        .light_line_style(TRANSPARENT)
        .draw()?;
    // The minor grid of a log axis (2×, 5× each decade) and the median.
    let light = RGBColor(225, 225, 225);
    let mut decade = bottom;
    while decade < top {
        for m in [2f64, 5.0] {
            let y = decade + m.log10();
            chart.draw_series(LineSeries::new([(0.0, y), (right, y)], light.stroke_width(1)))?;
        }
        decade += 1.0;
    }
    let p50 = nines(0.5);
    chart.draw_series(LineSeries::new([(p50, bottom), (p50, top)], light.stroke_width(2)))?;
    chart.draw_series([Text::new(
        "p50",
        (p50 + 0.03, top - 0.04 * (top - bottom)),
        (FONT, LABEL_PX - 2).into_font().color(&RGBColor(120, 120, 120)),
    )])?;
    for l in lines {
        let (color, _) = super::draw::style(l.strategy);
        let log: Vec<(f64, f64)> = l.points.iter().map(|&(x, ms)| (x, ms.max(1e-3).log10())).collect();
        super::draw::draw_line(&mut chart, log.clone(), color.stroke_width(2), l.dash)?;
        // Markers at p50, p90, p99… where the line reaches, so the lines part for colour-blind eyes.
        let at: Vec<(f64, f64)> = [p50, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .filter_map(|&x| log.iter().find(|p| (p.0 - x).abs() < 0.5 / STEPS_PER_NINE).copied())
            .collect();
        draw_marks(&mut chart, l.strategy, &at, l.shared)?;
        // One cross per line, at its end where the lines are furthest apart.
        if let (true, Some(&end)) = (l.saturated, at.last()) {
            chart.draw_series([Cross::new(end, 9, RED.stroke_width(2))])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nines_axis() {
        assert!((nines(0.9) - 1.0).abs() < 1e-9 && (nines(0.999) - 3.0).abs() < 1e-9);
        assert_eq!(percentile_label(0.0), "0 %");
        assert_eq!(percentile_label(2.0), "99 %");
        assert_eq!(percentile_label(4.0), "99.99 %");
    }

    #[test]
    fn a_line_follows_the_histogram_and_ends_where_its_counts_do() {
        let mut h = model::histogram::histogram();
        for v in 1..=1000u64 {
            h.record(v * 10).unwrap();
        }
        let l = line(&h);
        assert_eq!(l.first().unwrap().0, 0.0);
        assert!((l.last().unwrap().0 - 3.0).abs() < 1e-9, "1000 values: to 99.9 %");
        let at = |x: f64| l.iter().find(|p| (p.0 - x).abs() < 1e-9).unwrap().1;
        assert!((at(1.0) - 9.0).abs() < 0.01, "p90 of 10..10000 µs is 9 ms: {}", at(1.0));
        assert!(
            l.windows(2).all(|w| w[0].1 <= w[1].1),
            "latency never falls with the percentile"
        );
    }
}

//! The verdict section: what the machine check said, the noise of the run, and per (workload,
//! cores, metric) the leader against every other strategy: the ratio, its interval drawn as a
//! whisker on one log scale for the whole page, and the call.

use super::page::{esc, table, Page, Section};
use crate::verdict::{self, percent};
use model::verdict::{Call, Comparison, Metric};
use std::fmt::Write;

/// The whisker's scale: ratios from 1/SPAN to SPAN, log; beyond, an arrow at the edge.
const SPAN: f64 = 2.0;
const WIDTH: f64 = 180.0;

/// Where ratio `r` falls on the whisker, px.
fn x(r: f64) -> f64 {
    let t = (r.ln() / SPAN.ln()).clamp(-1.0, 1.0);
    WIDTH / 2.0 * (1.0 + t)
}

/// An inline SVG: the equivalence band, the line at 1, the interval and the estimate.
pub fn whisker(c: &Comparison, margin: f64) -> String {
    let colour = match c.call {
        Call::A | Call::B => "#1b7837",
        Call::Equivalent => "#2166ac",
        Call::Undecided => "#888",
    };
    let (lo, hi) = (x(1.0 / (1.0 + margin)), x(1.0 + margin));
    let mut s = format!(
        "<svg class=\"whisker\" width=\"{WIDTH}\" height=\"14\" viewBox=\"0 0 {WIDTH} 14\" role=\"img\" \
         aria-label=\"{}\">",
        esc(&percent(c))
    );
    let _ = write!(
        s,
        "<rect x=\"{lo:.1}\" y=\"1\" width=\"{:.1}\" height=\"12\" fill=\"#e8eef6\"/>\
         <line x1=\"{m:.1}\" x2=\"{m:.1}\" y1=\"0\" y2=\"14\" stroke=\"#999\"/>\
         <line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"7\" y2=\"7\" stroke=\"{colour}\" stroke-width=\"2\"/>\
         <circle cx=\"{:.1}\" cy=\"7\" r=\"3\" fill=\"{colour}\"/></svg>",
        hi - lo,
        x(c.ci[0]),
        x(c.ci[1]),
        x(c.ratio),
        m = x(1.0),
    );
    s
}

fn call_words(c: &Comparison, margin: f64) -> String {
    match c.call {
        Call::A => format!("<strong>{} ahead</strong>", esc(&c.a)),
        Call::B => format!("<strong>{} ahead</strong>", esc(&c.b)),
        Call::Equivalent => format!("equivalent (within {:.0} %)", margin * 100.0),
        Call::Undecided => format!(
            "<span class=\"noise\">undecided</span>{}",
            c.rounds_needed
                .map(|n| format!(" · ~{n} rounds would decide"))
                .unwrap_or_default()
        ),
    }
}

pub fn section(page: &Page) -> Vec<Section> {
    let r = page.results;
    let cs = verdict::of(r);
    let margin = r.config.verdict.margin;
    let mut body = format!(
        "<p>Per workload and core count, the leader against every other strategy: how much better it \
         is, with a {:.0} % confidence interval for the run's comparisons together (paired by round, \
         Bonferroni over {} comparisons), and the call: ahead when the interval clears 1, equivalent \
         when it lies within ±{:.0} %, else undecided. The whisker's scale runs from ½× to 2×, log; \
         the band is the ±{:.0} % margin.</p>",
        r.config.verdict.confidence * 100.0,
        cs.len(),
        margin * 100.0,
        margin * 100.0
    );
    if let Some(check) = &r.machine_check {
        let class = if check.noisy { "warn" } else { "meta" };
        let _ = write!(body, "<p class=\"{class}\">Machine check: {}</p>", esc(&check.verdict));
    }
    let noise = crate::noise::summary(r);
    let _ = write!(
        body,
        "<p class=\"meta\">Noise: {}.</p>",
        esc(&noise.sentence(r.config.noise.threshold))
    );
    if r.cells.is_empty() {
        body += "<p>No cell measured yet.</p>";
        return vec![Section::new("verdict", "Verdict", body)];
    }
    if cs.is_empty() {
        body += "<p>No comparison yet: a comparison needs two rounds of both its strategies.</p>";
        return vec![Section::new("verdict", "Verdict", body)];
    }
    for line in verdict::lines(r) {
        let _ = write!(body, "<p>{}</p>", esc(&line));
    }
    for line in verdict::added::lines(r) {
        let _ = write!(body, "<p class=\"added\">{}</p>", esc(&line));
    }
    let rows: Vec<Vec<String>> = cs
        .iter()
        .map(|c| {
            let metric = match c.metric {
                Metric::P99 => "p99 at the common rate".to_string(),
                m => m.words().to_string(),
            };
            vec![
                esc(c.workload.name()),
                c.cores.to_string(),
                esc(&metric),
                page.strategy(&c.a),
                page.strategy(&c.b),
                whisker(c, margin),
                esc(&percent(c)),
                call_words(c, margin),
                c.rounds.to_string(),
            ]
        })
        .collect();
    body += &table(
        &[
            "workload",
            "cores",
            "metric",
            "leader",
            "against",
            "interval",
            "leader better by",
            "call",
            "rounds",
        ],
        &rows,
        true,
    );
    vec![Section::new("verdict", "Verdict", body)]
}

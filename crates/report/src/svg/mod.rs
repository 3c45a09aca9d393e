//! The figures: one function per figure returning the SVG text; size, fonts, palette, marker
//! shapes and legend shared. Each strategy keeps one colour and one marker shape in every figure
//! (by its place in the run's strategy order), so 11+ lines stay apart for colour-blind readers.

mod bars;
mod closed;
pub mod draw;
mod load;
mod spectrum;
mod split;
mod swatch;
mod timeline;

pub use closed::{capacity, cpu_per_request, fairness, latency, throughput};
pub use load::latency_vs_load;
pub use spectrum::{spectra, spectrum, spectrum_file};
pub use split::cpu_split;
pub use swatch::{css_colour, swatch};
pub use timeline::timeline;

use crate::format::Exporter;
use anyhow::Result;
use model::results::Results;

/// Every figure of a run, for the workloads and measurements it has.
pub struct Svg;

impl Exporter for Svg {
    fn render(&self, results: &Results) -> Result<Vec<(String, Vec<u8>)>> {
        let mut files = Vec::new();
        for w in results.workloads() {
            let name = w.name();
            files.push((format!("throughput-{name}.svg"), throughput(results, &w)?));
            files.push((format!("latency-{name}.svg"), latency(results, &w)?));
            for (_, cores) in spectra(results).into_iter().filter(|k| k.0 == w) {
                files.push((spectrum_file(&w, cores), spectrum(results, &w, cores)?));
            }
            files.push((format!("fairness-{name}.svg"), fairness(results, &w)?));
            if crate::points::points(results)
                .iter()
                .any(|p| p.workload == w && p.cpu_us_per_request.is_some())
            {
                files.push((format!("cpu-per-request-{name}.svg"), cpu_per_request(results, &w)?));
                files.push((format!("cpu-split-{name}.svg"), cpu_split(results, &w)?));
            }
            if crate::points::points(results)
                .iter()
                .any(|p| p.workload == w && p.capacity.is_some())
            {
                files.push((format!("capacity-{name}.svg"), capacity(results, &w)?));
            }
            if crate::points::load_points(results).iter().any(|p| p.workload == w) {
                files.push((format!("latency-vs-load-{name}.svg"), latency_vs_load(results, &w)?));
            }
            if timeline::applies(results, &w) {
                files.push((format!("timeline-{name}.svg"), timeline(results, &w)?));
            }
        }
        Ok(files.into_iter().map(|(n, svg)| (n, svg.into_bytes())).collect())
    }
}

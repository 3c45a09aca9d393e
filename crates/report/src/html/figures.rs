//! The figures, grouped by workload, each inline with a one-line caption saying how to read it.
//! They are exactly the files the SVG exporter writes (a figure added there appears here).

use super::page::{esc, Page, Section};
use model::workload::Workload;

/// What the markers mean, said once above each workload's figures.
const MARKS: &str = "Each strategy keeps its colour and marker shape in every figure. Hollow marker or bar: \
client and server shared CPUs (not comparable with the others); red cross: the client was saturated (the \
figure may be its limit); \"!\": over 1 % of requests got non-2xx or failed.";

/// What a figure shows, found by its file name's prefix (longest prefixes first).
struct Kind {
    prefix: &'static str,
    title: &'static str,
    /// One line: how to read it.
    caption: &'static str,
}

const KINDS: [Kind; 9] = [
    Kind {
        prefix: "throughput-",
        title: "Throughput",
        caption: "2xx responses per second per strategy and core count: higher is better; whiskers span the \
                  lowest to the highest run.",
    },
    Kind {
        prefix: "latency-vs-load-",
        title: "Latency under load",
        caption: "p99 from each request's intended send time against offered load (open loop): lower is better; \
                  a red cross marks a rate not reached.",
    },
    Kind {
        prefix: "latency-",
        title: "Latency",
        caption: "p50 and p99 latency in ms per strategy and core count: lower is better.",
    },
    Kind {
        prefix: "spectrum-",
        title: "Latency spectrum",
        caption: "Latency at every percentile, all runs merged, log axes (90 %, 99 %, 99.9 %…): lower is \
                  better; lines that meet at p50 and part to the right differ in their tails.",
    },
    Kind {
        prefix: "capacity-",
        title: "Capacity under the latency objective",
        caption: "The highest offered rate whose corrected p99 stayed under slo.p99, per strategy and core \
                  count: higher is better.",
    },
    Kind {
        prefix: "fairness-",
        title: "Fairness",
        caption: "Jain's index over the workers' responses: 1 is an even share, 1/N means one of N workers \
                  took everything.",
    },
    Kind {
        prefix: "cpu-per-request-",
        title: "Server CPU per request",
        caption: "Server CPU µs per 2xx response, every process of the strategy: lower is better, and \
                  meaningful where the client limited the rate.",
    },
    Kind {
        prefix: "cpu-split-",
        title: "Server CPU by program",
        caption: "Where each strategy's CPU time went (median-throughput run): the balancing layer against \
                  the workers that serve.",
    },
    Kind {
        prefix: "timeline-",
        title: "Around the fault",
        caption: "Throughput and p99 interval by interval, a panel per strategy and core count (the slowest \
                  response faint): red line the fault, green the replacement, grey SIGCONT.",
    },
];

/// The workload figure `name` belongs to: the longest workload name its file name ends with,
/// after dropping a "-cores-N" ("throughput-close.svg", "spectrum-close-cores-2.svg"; with
/// workloads "close" and "slow-close", "throughput-slow-close.svg" is slow-close's).
fn owner<'w>(name: &str, workloads: &'w [Workload]) -> Option<&'w Workload> {
    let stem = name.trim_end_matches(".svg");
    let stem = match stem.rsplit_once("-cores-") {
        Some((head, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => head,
        _ => stem,
    };
    workloads
        .iter()
        .filter(|w| stem.ends_with(&format!("-{}", w.name())))
        .max_by_key(|w| w.name().len())
}

/// A figure inline, with its title, caption and a link to its file.
pub fn figure(name: &str, svg: &str) -> String {
    let kind = KINDS.iter().find(|k| name.starts_with(k.prefix));
    let (title, caption) = kind.map_or(("Figure", "See the README's \"Reading the results\"."), |k| {
        (k.title, k.caption)
    });
    let id = esc(name.trim_end_matches(".svg"));
    format!(
        "<figure id=\"fig-{id}\">\n<div class=\"svg\" role=\"img\" aria-label=\"{}\">\n{svg}</div>\n\
         <figcaption><strong>{}</strong> — {} <a href=\"{}\">{}</a></figcaption>\n</figure>\n",
        esc(title),
        esc(title),
        esc(caption),
        esc(name),
        esc(name)
    )
}

/// A section per workload with its figures, then any figure of no workload.
pub fn by_workload(page: &Page) -> Vec<Section> {
    let workloads = page.results.workloads();
    let owners: Vec<Option<&Workload>> = page.figures.iter().map(|(n, _)| owner(n, &workloads)).collect();
    let of = |w: Option<&Workload>| -> String {
        page.figures
            .iter()
            .zip(&owners)
            .filter(|(_, o)| **o == w)
            .map(|((name, svg), _)| figure(name, svg))
            .collect()
    };
    let mut sections: Vec<Section> = workloads
        .iter()
        .map(|w| {
            let body = format!(
                "{}<p class=\"marks\">{}</p>\n{}",
                page.legend(),
                esc(MARKS),
                of(Some(w))
            );
            let title = format!("Figures — {} workload", w.name());
            Section::new(format!("figures-{}", w.name()), title, body)
        })
        .collect();
    let rest = of(None);
    if !rest.is_empty() {
        sections.push(Section::new("figures-other", "Other figures", page.legend() + &rest));
    }
    sections
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_grouped_by_their_workload() {
        let w: Vec<Workload> = ["close", "keepalive", "slow-close"].map(Workload::from).into();
        let of = |name: &str| owner(name, &w).map(|w| w.name().to_string());
        assert_eq!(of("throughput-close.svg").as_deref(), Some("close"));
        assert_eq!(of("spectrum-close-cores-2.svg").as_deref(), Some("close"));
        assert_eq!(of("spectrum-slow-close-cores-12.svg").as_deref(), Some("slow-close"));
        assert_eq!(of("throughput-slow-close.svg").as_deref(), Some("slow-close"));
        assert_eq!(of("summary.svg"), None);
        let f = figure("latency-vs-load-close.svg", "<svg></svg>");
        assert!(f.contains("Latency under load") && f.contains("offered load"), "{f}");
    }
}

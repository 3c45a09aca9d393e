//! The page's head, and what did not run or where it ran.

use super::page::{esc, list, table, Page, Section};
use model::results::Results;

/// Machine, date, commit and config, and how far the sweep got.
pub fn headline(page: &Page) -> String {
    let r = page.results;
    let m = &r.machine;
    let measured = r.cells.len();
    let planned = planned(r);
    let progress = if r.finished {
        format!("{measured} cells measured, the sweep finished")
    } else if measured + r.failures.len() < planned {
        format!(
            "{measured} cells measured of {planned} planned so far: the sweep is running or was stopped \
             (this page is rewritten after each pass of a round)"
        )
    } else {
        format!("{measured} cells measured")
    };
    format!(
        "<p class=\"meta\">{} · {} CPUs · Linux {} · started {} · commit {} · config <code>{}</code></p>\n\
         <p class=\"meta\">{progress}; {} failed; {} strategies skipped.</p>",
        esc(&m.cpu_model),
        m.cpus,
        esc(&m.kernel),
        esc(&r.started_at),
        esc(r.git_commit.as_deref().unwrap_or("unknown")),
        esc(&r.config_path),
        r.failures.len(),
        r.skipped.len(),
    )
}

/// Cells the sweep will have run once every strategy seen so far has done every core count and
/// workload in each of its first rounds (a strategy not reached yet is not counted; the rounds
/// after those go only to undecided comparisons, so how many is not known ahead).
fn planned(r: &Results) -> usize {
    let mut strategies: Vec<&str> = r.cells.iter().map(|c| c.strategy.as_str()).collect();
    strategies.extend(r.failures.iter().map(|f| f.strategy.as_str()));
    strategies.sort_unstable();
    strategies.dedup();
    let s = &r.config.sweep;
    strategies.len() * s.cores.len() * s.workloads.len() * s.repeats.first(s.min_repeats)
}

pub fn skipped(page: &Page) -> Vec<Section> {
    let skipped = &page.results.skipped;
    if skipped.is_empty() {
        return Vec::new();
    }
    let items = skipped
        .iter()
        .map(|s| format!("<strong>{}</strong>: {}", esc(&s.strategy), esc(&s.reason)));
    vec![Section::new("skipped", "Skipped strategies", list(items))]
}

pub fn failures(page: &Page) -> Vec<Section> {
    let failures = &page.results.failures;
    if failures.is_empty() {
        return Vec::new();
    }
    let rows: Vec<Vec<String>> = failures
        .iter()
        .map(|f| {
            vec![
                page.strategy(&f.strategy),
                f.cores.to_string(),
                esc(f.workload.name()),
                f.repeat.to_string(),
                format!("<pre>{}</pre>", esc(&f.error)),
            ]
        })
        .collect();
    let body = table(&["strategy", "cores", "workload", "repeat", "error"], &rows, false);
    vec![Section::new("failures", "Failed cells", body)]
}

pub fn placement(page: &Page) -> Vec<Section> {
    let Some(t) = &page.results.topology else {
        return Vec::new();
    };
    let items = crate::placement::markdown(t)
        .lines()
        .map(|l| esc(l.trim_start_matches("- ")))
        .collect::<Vec<_>>();
    let mut body = list(items);
    let budgets: Vec<String> = page
        .results
        .config
        .sweep
        .cores
        .iter()
        .filter_map(|&n| {
            let cell = page.results.cells.iter().find(|c| c.cores == n)?;
            let cpus: Vec<String> = cell.server_cpus.iter().map(|c| c.to_string()).collect();
            Some(format!(
                "{n} core{} → CPUs {}",
                if n == 1 { "" } else { "s" },
                cpus.join(",")
            ))
        })
        .collect();
    if !budgets.is_empty() {
        body += &format!("<p>server: {}</p>", esc(&budgets.join("; ")));
    }
    vec![Section::new("placement", "CPU placement", body)]
}

/// Machine, versions, config and commit: what the numbers came from.
pub fn about(page: &Page) -> Vec<Section> {
    let r = page.results;
    let m = &r.machine;
    let mut rows = vec![
        ("machine", format!("{} · {} CPUs", m.cpu_model, m.cpus)),
        ("kernel", format!("Linux {}", m.kernel)),
        (
            "lbbench",
            format!(
                "{} (commit {})",
                r.lbbench_version,
                r.git_commit.as_deref().unwrap_or("unknown")
            ),
        ),
        ("built by", r.versions.rustc.clone()),
        ("started", r.started_at.clone()),
        (
            "cells ran",
            if r.isolated {
                "in private network and PID namespaces".into()
            } else {
                "on the host's loopback (not root)".into()
            },
        ),
        (
            "idle CPUs",
            r.cpus_awake
                .as_ref()
                .map_or_else(|| "not recorded".into(), |a| a.describe()),
        ),
        (
            "client priority",
            r.client_priority
                .as_ref()
                .map_or_else(|| "not recorded (normal)".into(), |p| p.describe()),
        ),
        ("results schema", r.schema.to_string()),
        ("config file", r.config_path.clone()),
    ];
    rows.extend(r.versions.strategies.iter().map(|(s, v)| (s.as_str(), v.clone())));
    let rows: Vec<Vec<String>> = rows.into_iter().map(|(k, v)| vec![esc(k), esc(&v)]).collect();
    let config = toml::to_string(&r.config).unwrap_or_else(|e| format!("(not representable as TOML: {e})"));
    let body = format!(
        "{}\n<h3>Config</h3>\n<pre class=\"config\">{}</pre>",
        table(&["what", "version or value"], &rows, false),
        esc(&config)
    );
    vec![Section::new("about", "What ran, where", body)]
}

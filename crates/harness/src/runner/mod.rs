//! The sweep: for each core count, rounds of every strategy and workload, each window in a new
//! order (`rounds`); the results written after every window, with the comparisons they support.
//! What is swept comes from `prepare` (which strategies, built); what ran is recorded by
//! `versions`.

pub mod prepare;
mod rounds;
pub mod versions;

use crate::cell::CellSpec;
use crate::manifest::{Layout, Slot, Strategy};
use crate::sandbox;
use crate::topology::Placement;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use model::config::Config;
use model::machine::Isolation;
use model::results::{Results, Skipped, Versions, SCHEMA};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Port every strategy serves on inside a cell's private namespace (nothing else lives there).
const ISOLATED_PORT: u16 = 8080;
/// How long the machine check before a sweep watches the idle machine.
const CHECK: Duration = Duration::from_secs(1);

pub struct Setup<'a> {
    pub config: &'a Config,
    pub config_path: &'a Path,
    pub layout: &'a Layout,
    pub out_dir: &'a Path,
    /// Where server and client run, decided before any cell (on this machine: None with `remote`).
    pub placement: Option<&'a Placement>,
    /// With `[hosts]`: the server host and the load hosts, connected.
    pub remote: Option<&'a crate::remote::Fleet>,
}

/// Measures every (strategy, cores, workload) in rounds, writing every output file after each
/// window; returns the results and the files last written.
pub fn sweep(plan: &Setup, strategies: &[Strategy], skipped: Vec<Skipped>) -> Result<(Results, Vec<PathBuf>)> {
    // With load hosts, the server runs in its host's own namespace, which they can reach.
    let isolation = match plan.remote {
        None => sandbox::isolation(),
        Some(_) => Isolation::None(
            "with load hosts the server runs in its host's network namespace, which they can reach".into(),
        ),
    };
    let commit = versions::git_commit(&plan.layout.root);
    let mut results = Results {
        schema: SCHEMA,
        lbbench_version: env!("CARGO_PKG_VERSION").into(),
        versions: Versions {
            rustc: env!("LBBENCH_RUSTC").into(),
            strategies: strategies
                .iter()
                .map(|s| (s.name.clone(), versions::program_version(s, commit.as_deref())))
                .collect(),
        },
        git_commit: commit.clone(),
        started_at: crate::clock::now(),
        machine: crate::machine::detect(),
        topology: plan.placement.map(|p| p.record(&plan.config.load)),
        isolated: isolation.private(),
        isolation: isolation.clone(),
        config_path: plan.config_path.display().to_string(),
        config: plan.config.clone(),
        skipped,
        failures: Vec::new(),
        machine_check: None,
        comparisons: Vec::new(),
        cells: Vec::new(),
    };
    for s in &results.skipped {
        eprintln!("skipping {}: {}", s.strategy, s.reason);
    }
    if isolation != Isolation::Root {
        eprintln!("cell isolation: {}", isolation.describe());
    }
    // The load hosts' machines are not this one: their noise is measured window by window.
    if plan.remote.is_none() {
        let check = crate::cpu::machine_check(CHECK);
        eprintln!("machine check: {}", check.verdict);
        results.machine_check = Some(check);
    }
    rounds::run(plan, strategies, results)
}

/// What a cell of `strategy` at `cores` is asked to keep running.
fn cell_spec(plan: &Setup, strategy: &Strategy, cores: usize, isolated: bool) -> Result<CellSpec> {
    // With load hosts, the server host places the server and each load host its client.
    let (server_cpus, client_cpus) = match plan.placement {
        Some(p) => (
            p.server(cores).context("no placement for this core count")?.to_vec(),
            p.client().to_vec(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let run_dir = crate::rundir::tempdir(&strategy.name)?;
    let workers = cores * plan.config.sweep.workers_per_core;
    // On the host, the ports after the public one must be free too: fronted workers live there.
    // A server host picks its own free port.
    let port = if isolated || plan.remote.is_some() {
        ISOLATED_PORT
    } else {
        lbproc::ports::free_block(workers)?
    };
    let host = plan.config.network.server_addr();
    let slot = Slot {
        workers,
        port,
        cpus: lbproc::format_cpus(&server_cpus),
        host: host.to_string(),
        run_dir: run_dir.clone(),
        stop_grace_ms: plan.config.server.stop_grace.as_millis() as u64,
    };
    Ok(CellSpec {
        strategy: strategy.name.clone(),
        cores,
        workers,
        launch: strategy.launch(&slot, plan.layout)?,
        cwd: plan.layout.root.clone(),
        run_dir,
        port,
        host,
        network: plan.config.network.clone(),
        isolated,
        server_cpus,
        client_cpus,
        load: plan.config.load.clone(),
        // A strategy that needs longer to warm up (a JIT) gets it in its first window.
        startup_warmup: strategy.warmup.unwrap_or_default(),
        server: plan.config.server.clone(),
        slo: plan.config.slo.clone(),
        fault: plan.config.fault.clone(),
        noise: plan.config.noise.clone(),
    })
}

/// A line above the bar, or on stderr when the bar is hidden (not a terminal).
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

fn progress(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} windows · {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

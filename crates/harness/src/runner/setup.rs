//! What a sweep is given ([`Setup`]), what each of its cells is asked to keep running
//! ([`cell_spec`]), and the progress bar its lines are printed above.

use crate::cell::CellSpec;
use crate::manifest::{Layout, Slot, Strategy};
use crate::topology::Placement;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use model::config::Config;
use std::path::Path;
use std::time::Duration;

/// Port every strategy serves on inside a cell's private namespace (nothing else lives there).
const ISOLATED_PORT: u16 = 8080;

pub struct Setup<'a> {
    pub config: &'a Config,
    pub config_path: &'a Path,
    pub layout: &'a Layout,
    pub out_dir: &'a Path,
    /// Where server and client run, decided before any cell (on this machine: None with `remote`).
    pub placement: Option<&'a Placement>,
    /// With `[hosts]`: the server host and the load hosts, connected.
    pub remote: Option<&'a crate::remote::Fleet>,
    /// Whether idle CPUs are held awake while the sweep measures (held by the caller).
    pub cpus_awake: model::machine::CpusAwake,
    /// How the pacing threads are scheduled (decided by the caller); None with `remote`.
    pub client_priority: Option<model::machine::ClientPriority>,
}

/// What a cell of `strategy` at `cores` is asked to keep running.
pub fn cell_spec(plan: &Setup, strategy: &Strategy, cores: usize, isolated: bool) -> Result<CellSpec> {
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
        worker: strategy.worker_name.clone(),
        baseline: strategy.worker.alone,
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
pub fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

pub fn progress(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} windows · {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

//! The sweep: every cell in its own child process, strategies interleaved innermost, the results
//! written after each cell. What is swept comes from `prepare` (which strategies, built); what ran
//! is recorded by `versions`.

pub mod prepare;
pub mod versions;

use crate::cell::{self, CellSpec};
use crate::manifest::{Layout, Slot, Strategy};
use crate::sandbox;
use crate::topology::Placement;
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use model::cell::CellResult;
use model::config::Config;
use model::machine::Isolation;
use model::results::{Failure, Results, Skipped, Versions, SCHEMA};
use report::table;
use std::path::{Path, PathBuf};
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
}

/// One cell to measure.
struct Job<'a> {
    strategy: &'a Strategy,
    cores: usize,
    workload: model::workload::Workload,
    repeat: usize,
}

/// Measures every cell, strategies interleaved innermost so they are compared side by side in
/// time, writing every output file after each; returns the results and the files last written.
pub fn sweep(plan: &Setup, strategies: &[Strategy], skipped: Vec<Skipped>) -> Result<(Results, Vec<PathBuf>)> {
    let sweep = &plan.config.sweep;
    // With load hosts, the server runs in its host's own namespace, which they can reach.
    let isolation = match plan.remote {
        None => sandbox::isolation(),
        Some(_) => Isolation::None(
            "with load hosts the server runs in its host's network namespace, which they can reach".into(),
        ),
    };
    let isolated = isolation.private();
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
        isolated,
        isolation: isolation.clone(),
        config_path: plan.config_path.display().to_string(),
        config: plan.config.clone(),
        skipped,
        failures: Vec::new(),
        cells: Vec::new(),
    };
    for s in &results.skipped {
        eprintln!("skipping {}: {}", s.strategy, s.reason);
    }
    if !is_root_isolation(&isolation) {
        eprintln!("cell isolation: {}", isolation.describe());
    }
    let mut jobs = Vec::new();
    for &cores in &sweep.cores {
        for workload in &sweep.workloads {
            for repeat in 0..sweep.repeats {
                for strategy in strategies {
                    jobs.push(Job {
                        strategy,
                        cores,
                        workload: workload.clone(),
                        repeat,
                    });
                }
            }
        }
    }
    let mut files = Vec::new();
    let bar = progress(jobs.len() as u64);
    for job in &jobs {
        let label = format!("{} cores={} {}", job.strategy.name, job.cores, job.workload.name());
        bar.set_message(label.clone());
        match measure(plan, job, isolated) {
            Ok(cell) => {
                let hosts = crate::remote::saturated_hosts(&cell);
                say(&bar, format!("{label}: {}{hosts}", table::cell_line(&cell)));
                results.cells.push(cell);
            }
            Err(e) => {
                say(&bar, format!("{label}: FAILED: {e:#}"));
                results.failures.push(Failure {
                    strategy: job.strategy.name.clone(),
                    cores: job.cores,
                    workload: job.workload.clone(),
                    repeat: job.repeat,
                    error: format!("{e:#}"),
                });
            }
        }
        files = report::export_all(&results, plan.out_dir)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok((results, files))
}

fn measure(plan: &Setup, job: &Job, isolated: bool) -> Result<CellResult> {
    // With load hosts, the server host places the server and each load host its client.
    let (server_cpus, client_cpus) = match plan.placement {
        Some(p) => (
            p.server(job.cores)
                .context("no placement for this core count")?
                .to_vec(),
            p.client().to_vec(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let run_dir = crate::rundir::tempdir(&job.strategy.name)?;
    let workers = job.cores * plan.config.sweep.workers_per_core;
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
    let launch = job.strategy.launch(&slot, plan.layout)?;
    let spec = CellSpec {
        strategy: job.strategy.name.clone(),
        cores: job.cores,
        workload: job.workload.clone(),
        workload_spec: plan
            .config
            .workload(&job.workload)
            .context("the profile's workloads were checked when it was read")?,
        repeat: job.repeat,
        workers,
        launch,
        cwd: plan.layout.root.clone(),
        run_dir: run_dir.clone(),
        port,
        host,
        network: plan.config.network.clone(),
        isolated,
        server_cpus,
        client_cpus,
        load: model::config::LoadConfig {
            // A strategy that needs longer to warm up (a JIT) gets it.
            warmup: plan.config.load.warmup.max(job.strategy.warmup.unwrap_or_default()),
            ..plan.config.load.clone()
        },
        server: plan.config.server.clone(),
        slo: plan.config.slo.clone(),
        fault: plan.config.fault.clone(),
    };
    let result = match plan.remote {
        Some(fleet) => fleet.run_cell(&spec, plan.config),
        None => cell::run_in_child(&spec),
    };
    let result = result.map(|mut c| {
        if let Some(p) = plan.placement {
            c.placement = p.cell(job.cores);
        }
        c
    });
    let _ = std::fs::remove_dir_all(&run_dir);
    result
}

fn is_root_isolation(i: &Isolation) -> bool {
    *i == Isolation::Root
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
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} cells · ETA {eta} · {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

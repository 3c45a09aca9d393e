//! `lbbench run`: a sweep, from the profile to the files written.

use super::{discover, layout, read_profile, summarize};
use crate::cli::{RunArgs, ServersArgs};
use anyhow::{bail, Context, Result};
use harness::topology::Placement;
use harness::{runner, sandbox};
use report::table;

pub fn run(args: RunArgs) -> Result<()> {
    let mut config = read_profile(&args.config)?;
    if !args.strategies.is_empty() {
        config.sweep.strategies = args.strategies.clone();
    }
    if let Some(out) = &args.out {
        config.output.dir = out.clone();
    }
    let (all, layout) = discover(&args.servers)?;
    let chosen = runner::prepare::select_with_workers(all, &config.sweep.strategies, config.sweep.workers.as_deref())?;
    harness::netns::preflight(&config.network, sandbox::is_root())?;
    // Before any cell: limits this machine cannot meet, and an output nobody can write.
    let most = config
        .sweep
        .workloads
        .iter()
        .filter_map(|w| config.workload(w))
        .map(|w| w.connections.unwrap_or(config.load.connections))
        .max()
        .unwrap_or(config.load.connections);
    loadgen::open_files_possible(most).context("load.connections")?;
    report::writable(&config.output.dir)?;
    // Before any load: every host reachable and running this lbbench.
    let fleet = match &config.hosts {
        Some(hosts) => Some(connect(hosts, &args.servers)?),
        None => None,
    };
    // Before building: a sweep this machine cannot hold fails now, not after the builds.
    let placement = match fleet {
        None => Some(Placement::detect(&config.sweep)?),
        Some(_) => None,
    };
    for line in placement.iter().flat_map(|p| p.announce(&config.load)) {
        eprintln!("{line}");
    }
    let (runnable, mut skipped) = match fleet {
        None => runner::prepare::available(chosen),
        Some(_) => harness::remote::controller::available(chosen),
    };
    let runnable = harness::fault::select(config.fault.as_ref(), runnable, &mut skipped);
    let built = if args.no_build || fleet.is_some() {
        runnable
    } else {
        runner::prepare::build(runnable, &layout, &mut skipped)
    };
    if built.is_empty() {
        bail!("no strategy can run here; reasons: {skipped:?}");
    }
    // With load hosts the clients' machines are not this one: nothing is held here.
    let (held, awake) = match fleet {
        Some(_) => (None, model::machine::CpusAwake::Off),
        None => super::keep_cpus_awake(args.keep_cpus_awake),
    };
    // Load hosts raise their own pacing threads, or not: each window's `pacing` says which.
    let priority = fleet
        .is_none()
        .then(|| super::client_priority(config.load.client_realtime));
    if let Some(model::machine::ClientPriority::Refused(_)) = &priority {
        config.load.client_realtime = false;
    }
    let setup = runner::Setup {
        config: &config,
        config_path: &args.config,
        layout: &layout,
        out_dir: &config.output.dir,
        placement: placement.as_ref(),
        remote: fleet.as_ref(),
        cpus_awake: awake,
        client_priority: priority,
    };
    let began = std::time::Instant::now();
    let (results, files) = runner::sweep(&setup, &built, skipped)?;
    drop(held);
    summarize(&results, &files);
    eprint!("{}", table::time_spent(&results, began.elapsed().as_secs_f64()));
    if results.cells.is_empty() {
        bail!("every cell failed; see the errors above");
    }
    Ok(())
}

/// Connects to every host of `[hosts]` and checks it, printing a line per host.
pub fn connect(hosts: &model::hosts::HostsConfig, servers: &ServersArgs) -> Result<harness::remote::Fleet> {
    let layout = layout(servers)?;
    let dir = std::fs::canonicalize(&servers.servers)?;
    let (fleet, lines) = harness::remote::Fleet::connect(hosts, dir, &layout)?;
    for line in lines {
        eprintln!("{line}");
    }
    Ok(fleet)
}

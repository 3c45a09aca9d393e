//! The sweep: for each core count, rounds of every strategy and workload, each window in a new
//! order (`rounds`); the results written after every window, with the comparisons they support.
//! What is swept comes from `prepare` (which strategies, built); what ran is recorded by
//! `versions`.

pub mod prepare;
mod rounds;
mod setup;
pub mod versions;

pub use setup::Setup;

use crate::manifest::Strategy;
use crate::sandbox;
use anyhow::Result;
use model::machine::Isolation;
use model::results::{Results, Skipped, Versions, SCHEMA};
use std::path::PathBuf;
use std::time::Duration;

/// How long the machine check before a sweep watches the idle machine.
const CHECK: Duration = Duration::from_secs(1);

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
        cpus_awake: Some(plan.cpus_awake.clone()),
        client_priority: plan.client_priority.clone(),
        machine_check: None,
        comparisons: Vec::new(),
        finished: false,
        cells: Vec::new(),
    };
    for s in &results.skipped {
        eprintln!("skipping {}: {}", s.strategy, s.reason);
    }
    if isolation != Isolation::Root {
        eprintln!("cell isolation: {}", isolation.describe());
    }
    eprintln!("{}", plan.cpus_awake.describe());
    if let Some(p) = &plan.client_priority {
        eprintln!("{}", p.describe());
    }
    // The load hosts' machines are not this one: their noise is measured window by window.
    if plan.remote.is_none() {
        let check = crate::cpu::machine_check(CHECK);
        eprintln!("machine check: {}", check.verdict);
        results.machine_check = Some(check);
    }
    rounds::run(plan, strategies, results)
}

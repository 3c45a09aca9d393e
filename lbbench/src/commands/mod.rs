//! What each subcommand does, at the edge: anyhow errors with context that say how to fix. One
//! file per subcommand; what several share is here.

pub mod compare;
pub mod hosts;
pub mod list;
pub mod load;
pub mod new;
pub mod packages;
pub mod plot;
pub mod run;
pub mod serve;

use crate::cli::ServersArgs;
use anyhow::{Context, Result};
use harness::manifest::{self, Layout, Strategy};
use model::config::Config;
use std::path::PathBuf;

/// How the open loop's pacing threads will be scheduled: at real-time priority when `asked` and
/// this process may use it, else why not.
pub fn client_priority(asked: bool) -> model::machine::ClientPriority {
    use model::machine::ClientPriority;
    if !asked {
        return ClientPriority::Normal;
    }
    match loadgen::priority::allowed() {
        Ok(()) => ClientPriority::Realtime,
        Err(why) => ClientPriority::Refused(why),
    }
}

/// With `asked`, holds idle CPUs awake for as long as the first value lives; the second says
/// what was done, for the record.
pub fn keep_cpus_awake(asked: bool) -> (Option<lbproc::awake::Awake>, model::machine::CpusAwake) {
    use model::machine::CpusAwake;
    if !asked {
        return (None, CpusAwake::Off);
    }
    match lbproc::awake::hold() {
        Ok(held) => (Some(held), CpusAwake::Held),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => (
            None,
            CpusAwake::Refused(format!("/dev/cpu_dma_latency: {e}; it takes root")),
        ),
        // The refusal for a missing idle driver names its own file.
        Err(e) if e.kind() == std::io::ErrorKind::Unsupported => (None, CpusAwake::Refused(e.to_string())),
        Err(e) => (None, CpusAwake::Refused(format!("/dev/cpu_dma_latency: {e}"))),
    }
}

/// Reads the profile at `path`.
pub fn read_profile(path: &std::path::Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config {}", path.display()))?;
    Ok(Config::parse(&text, &path.display().to_string())?)
}

/// The repository root is the servers directory's parent.
pub fn layout(args: &ServersArgs) -> Result<Layout> {
    let servers = std::fs::canonicalize(&args.servers).with_context(|| {
        format!(
            "no strategies directory {}: run from the repository root or pass --servers",
            args.servers.display()
        )
    })?;
    let root = servers.parent().map(PathBuf::from).unwrap_or_else(|| servers.clone());
    let bin = match &args.bin {
        Some(b) => std::path::absolute(b)?,
        None => std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"))
            .join("release"),
    };
    let mut layout = Layout::new(root, bin);
    for dir in &args.worker_dirs {
        layout.workers.push(std::path::absolute(dir)?);
    }
    Ok(layout)
}

pub fn discover(args: &ServersArgs) -> Result<(Vec<Strategy>, Layout)> {
    let layout = layout(args)?;
    Ok((manifest::discover(&args.servers, &layout)?, layout))
}

/// The summary table and the list of files written.
pub fn summarize(results: &model::results::Results, files: &[PathBuf]) {
    print!("{}", report::table::render(results));
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    println!("wrote {}", names.join(", "));
}

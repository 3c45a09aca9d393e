//! What each subcommand does, at the edge: anyhow errors with context that say how to fix.

use crate::cli::{CompareArgs, HostsAction, HostsArgs, LoadArgs, NewArgs, PlotArgs, RunArgs, ServersArgs};
use crate::config::Config;
use crate::load::{self, target::Target};
use crate::manifest::{self, Layout, Strategy};
use crate::report::{self, table};
use crate::topology::Placement;
use crate::{runner, sandbox};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// The repository root is the servers directory's parent.
fn layout(args: &ServersArgs) -> Result<Layout> {
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
    Ok(Layout { root, bin })
}

pub(crate) fn discover(args: &ServersArgs) -> Result<(Vec<Strategy>, Layout)> {
    let layout = layout(args)?;
    Ok((manifest::discover(&args.servers, &layout)?, layout))
}

pub fn run(args: RunArgs) -> Result<()> {
    let mut config = Config::load(&args.config)?;
    if !args.strategies.is_empty() {
        config.sweep.strategies = args.strategies.clone();
    }
    if let Some(out) = &args.out {
        config.output.dir = out.clone();
    }
    let (all, layout) = discover(&args.servers)?;
    let chosen = runner::select(all, &config.sweep.strategies)?;
    config.network.preflight(sandbox::is_root())?;
    // Before any cell: limits this machine cannot meet, and an output nobody can write.
    let most = config
        .sweep
        .workloads
        .iter()
        .filter_map(|w| config.workload(w))
        .map(|w| w.connections.unwrap_or(config.load.connections))
        .max()
        .unwrap_or(config.load.connections);
    load::open_files_possible(most).map_err(|e| anyhow::anyhow!("load.connections: {e}"))?;
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
        None => runner::available(chosen),
        Some(_) => crate::remote::controller::available(chosen),
    };
    let runnable = crate::fault::select(config.fault.as_ref(), runnable, &mut skipped);
    let built = if args.no_build || fleet.is_some() {
        runnable
    } else {
        runner::build(runnable, &layout, &mut skipped)
    };
    if built.is_empty() {
        bail!("no strategy can run here; reasons: {skipped:?}");
    }
    let setup = runner::Setup {
        config: &config,
        config_path: &args.config,
        layout: &layout,
        out_dir: &config.output.dir,
        placement: placement.as_ref(),
        remote: fleet.as_ref(),
    };
    let began = std::time::Instant::now();
    let results = runner::sweep(&setup, &built, skipped)?;
    let files = report::export_all(&results, &config.output.dir)?;
    summarize(&results, &files);
    eprint!("{}", table::time_spent(&results, began.elapsed().as_secs_f64()));
    if results.cells.is_empty() {
        bail!("every cell failed; see the errors above");
    }
    Ok(())
}

/// Connects to every host of `[hosts]` and checks it, printing a line per host.
fn connect(hosts: &crate::remote::HostsConfig, servers: &ServersArgs) -> Result<crate::remote::Fleet> {
    let layout = layout(servers)?;
    let dir = std::fs::canonicalize(&servers.servers)?;
    let (fleet, lines) = crate::remote::Fleet::connect(hosts, dir, &layout)?;
    for line in lines {
        eprintln!("{line}");
    }
    Ok(fleet)
}

/// `lbbench hosts check`: every check `run` makes of the hosts, and no load.
pub fn hosts(args: HostsArgs) -> Result<()> {
    let HostsAction::Check { config, servers } = args.action;
    let config = Config::load(&config)?;
    let Some(hosts) = &config.hosts else {
        bail!("the profile has no [hosts] section: everything runs on this machine, nothing to check");
    };
    connect(hosts, &servers)?;
    println!("all {} hosts run lbbench {}", hosts.load.len() + 1, crate::VERSION);
    Ok(())
}

pub fn list(args: ServersArgs) -> Result<()> {
    let (all, layout) = discover(&args)?;
    let isolation = sandbox::Isolation::detect();
    let width = all.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in &all {
        let status = match (
            s.unavailable(isolation.available()),
            s.missing_program(&layout),
            &s.build,
        ) {
            (Some(why), _, _) => format!("unavailable: {why}"),
            (None, None, _) => "available".to_string(),
            (None, Some(program), Some(build)) => {
                format!("available once built: {program} does not exist yet (`lbbench run` builds it: {build})")
            }
            (None, Some(program), None) => format!("unavailable: its start program {program} is not there"),
        };
        println!("{:<width$}  {}\n{:<width$}  {}", s.name, s.description, "", status);
        println!("{:<width$}  {}", "", crate::fault::recovery(s));
        if let Some(w) = s.warmup {
            println!(
                "{:<width$}  warms up for at least {}",
                "",
                humantime::format_duration(w)
            );
        }
    }
    Ok(())
}

pub fn packages(args: ServersArgs) -> Result<()> {
    let (all, _) = discover(&args)?;
    let mut pkgs: Vec<&str> = Vec::new();
    for s in &all {
        if s.requires.programs.iter().any(|p| manifest::which(p).is_none()) {
            pkgs.extend(s.requires.packages.iter().map(String::as_str));
        }
    }
    pkgs.sort_unstable();
    pkgs.dedup();
    if !pkgs.is_empty() {
        println!("{}", pkgs.join(" "));
    }
    Ok(())
}

/// Copies a strategy directory under a new name, renaming it in its manifest and, when it has
/// Rust code, in its Cargo package (Cargo refuses two packages of one name).
pub fn new(args: NewArgs) -> Result<()> {
    manifest::check_name(&args.name).map_err(anyhow::Error::msg)?;
    let (all, _) = discover(&args.servers)?;
    if all.iter().any(|s| s.name == args.name) {
        bail!("a strategy named {:?} already exists: choose another name", args.name);
    }
    let from = all
        .iter()
        .find(|s| s.name == args.from || s.dir.ends_with(&args.from))
        .with_context(|| {
            let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
            format!("no strategy {:?} to copy; known: {}", args.from, names.join(", "))
        })?;
    let dest = args.servers.servers.join(&args.name);
    crate::scaffold::copy_strategy(&from.dir, &dest, &args.name)?;
    println!(
        "created {} from {}; `lbbench list` shows it, `make bench` builds and runs it",
        dest.display(),
        from.dir.display()
    );
    Ok(())
}

pub fn load(args: LoadArgs) -> Result<()> {
    let target = Target::parse(&args.url)?;
    let cpus = match &args.cpus {
        Some(list) => lbproc::parse_cpus(list)?,
        None => Vec::new(),
    };
    let threads = args.threads.unwrap_or(if cpus.is_empty() {
        crate::machine::allowed_cpus().len()
    } else {
        cpus.len()
    });
    let opts = load::LoadOptions {
        addr: target.addr,
        host: target.host,
        path: target.path,
        connections: args.connections,
        threads,
        cpus,
        duration: args.duration,
        warmup: args.warmup,
        timeout: args.timeout,
        keepalive: !args.close,
        pipeline: args.pipeline,
        rate: args.rate,
        interval: args.interval,
    };
    // Ctrl-C ends the window early and the report of what was measured is printed (a second
    // Ctrl-C ends lbbench at once).
    interrupt_ends_the_run()?;
    let report = load::run(&opts)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", load::text::render(&args.url, &report));
    }
    if report.interrupted {
        eprintln!("interrupted after {:.2} s of the window", report.duration_s);
        std::process::exit(130);
    }
    Ok(())
}

/// SIGINT sets [`load::INTERRUPTED`] once, then has its default action again.
fn interrupt_ends_the_run() -> Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    extern "C" fn interrupted(_: libc::c_int) {
        load::INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let action = SigAction::new(SigHandler::Handler(interrupted), SaFlags::SA_RESETHAND, SigSet::empty());
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe { sigaction(Signal::SIGINT, &action) }.context("installing the SIGINT handler")?;
    Ok(())
}

pub fn plot(args: PlotArgs) -> Result<()> {
    let mut results = report::json::read(&args.results, report::json::Accept::CurrentOrOlder)?;
    // Every figure comes from the stored histograms, not from the percentiles written beside them.
    for c in &mut results.cells {
        c.load.recompute_percentiles();
        for step in &mut c.open_loop {
            step.load.recompute_percentiles();
        }
    }
    let dir = match args.out {
        Some(d) => d,
        None => args.results.parent().map(PathBuf::from).unwrap_or_default(),
    };
    let files = report::write(&results, &dir, report::derived())?;
    summarize(&results, &files);
    Ok(())
}

pub fn compare(args: CompareArgs) -> Result<()> {
    let (base, new) = (report::compare::read(&args.base)?, report::compare::read(&args.new)?);
    let comparison = report::compare::compare(&base, &new);
    for w in &comparison.warnings {
        eprintln!("warning: {w}");
    }
    if args.markdown {
        print!("{}", report::compare::render_markdown(&comparison));
    } else {
        print!("{}", report::compare::render_text(&comparison));
    }
    if let Some(path) = &args.html {
        let names = (args.base.display().to_string(), args.new.display().to_string());
        let page = report::html::compare::page(&base, &new, &comparison, (&names.0, &names.1))?;
        std::fs::write(path, page).with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The summary table and the list of files written.
fn summarize(results: &report::Results, files: &[PathBuf]) {
    print!("{}", table::render(results));
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    println!("wrote {}", names.join(", "));
}

//! What each subcommand does, at the edge: anyhow errors with context that say how to fix.

use crate::cli::{LoadArgs, PlotArgs, RunArgs, ServersArgs};
use crate::config::Config;
use crate::load::stats::Percentiles;
use crate::load::{self, LoadReport};
use crate::manifest::{self, Layout, Strategy};
use crate::report::{self, table};
use crate::{runner, sandbox};
use anyhow::{bail, Context, Result};
use std::net::ToSocketAddrs;
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

fn discover(args: &ServersArgs) -> Result<(Vec<Strategy>, Layout)> {
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
    let (runnable, mut skipped) = runner::available(chosen);
    let built = if args.no_build {
        runnable
    } else {
        runner::build(runnable, &layout, &mut skipped)
    };
    if built.is_empty() {
        bail!("no strategy can run here; reasons: {skipped:?}");
    }
    let plan = runner::Plan {
        config: &config,
        config_path: &args.config,
        layout: &layout,
        out_dir: &config.output.dir,
    };
    let results = runner::sweep(&plan, &built, skipped)?;
    let files = report::export_all(&results, &config.output.dir)?;
    summarize(&results, &files);
    if results.cells.is_empty() {
        bail!("every cell failed; see the errors above");
    }
    Ok(())
}

pub fn list(args: ServersArgs) -> Result<()> {
    let (all, _) = discover(&args)?;
    let root = sandbox::is_root();
    let width = all.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in &all {
        let status = match s.unavailable(root) {
            None => "available".to_string(),
            Some(why) => format!("unavailable: {why}"),
        };
        println!("{:<width$}  {}\n{:<width$}  {}", s.name, s.description, "", status);
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

pub fn load(args: LoadArgs) -> Result<()> {
    let rest = args.url.strip_prefix("http://").with_context(|| {
        format!(
            "{:?}: only http:// URLs are supported, e.g. http://127.0.0.1:8080/",
            args.url
        )
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let with_port = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = with_port
        .to_socket_addrs()
        .with_context(|| format!("cannot resolve {authority:?}"))?
        .next()
        .with_context(|| format!("{authority:?} resolves to no address"))?;
    let cpus = match &args.cpus {
        Some(list) => hello::process::parse_cpus(list)?,
        None => Vec::new(),
    };
    let threads = args.threads.unwrap_or(if cpus.is_empty() {
        crate::machine::allowed_cpus().len()
    } else {
        cpus.len()
    });
    let opts = load::LoadOptions {
        addr,
        host: authority.to_string(),
        path: path.to_string(),
        connections: args.connections,
        threads,
        cpus,
        duration: args.duration,
        warmup: args.warmup,
        timeout: args.timeout,
        keepalive: !args.close,
        rate: args.rate,
    };
    let report = load::run(&opts)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", text(&args.url, &report));
    }
    Ok(())
}

/// "p50 0.21 ms  p90 ...": one histogram's percentiles on a line.
fn percentiles(p: &Percentiles) -> String {
    let ms = |v: u64| report::ms(v as f64);
    format!(
        "p50 {} ms  p90 {} ms  p99 {} ms  p99.9 {} ms  max {} ms",
        ms(p.p50),
        ms(p.p90),
        ms(p.p99),
        ms(p.p999),
        ms(p.max)
    )
}

/// A wrk-like text report.
pub fn text(url: &str, r: &LoadReport) -> String {
    let mut out = format!(
        "{:.1}s test @ {url}\n  {} threads and {} connections\n",
        r.duration_s, r.threads, r.connections
    );
    match (r.target_rps, r.achieved_rps, &r.uncorrected_latency_us, &r.send_lag_us) {
        (Some(target), Some(achieved), Some(uncorrected), Some(lag)) => {
            out += &format!("  Open loop: target {target:.0} req/s, sent {achieved:.0} req/s");
            if r.rate_reached == Some(false) {
                out += " — WARNING: the offered rate was NOT reached; the server (or client) could not keep up";
            }
            out += &format!(
                "\n  Latency (from when each request was due)  {}\n",
                percentiles(&r.latency_us)
            );
            out += &format!(
                "  Uncorrected (from the actual send)        {}\n",
                percentiles(uncorrected)
            );
            out += &format!("  Send lag behind schedule                  {}\n", percentiles(lag));
        }
        _ => out += &format!("  Latency  {}\n", percentiles(&r.latency_us)),
    }
    out += &format!(
        "  {} requests in {:.1}s, {} errors {:?}",
        r.requests, r.duration_s, r.errors, r.error_kinds
    );
    if !r.non_2xx.is_empty() {
        out += &format!(", non-2xx {:?}", r.non_2xx);
    }
    out += &format!(", {} in flight at the end\n", r.in_flight_at_end);
    if !r.per_worker.is_empty() {
        out += &format!("  Per X-Worker: {:?}\n", r.per_worker);
    }
    out += &format!("  Client CPU busy: {:.0} %", r.client_cpu_busy * 100.0);
    if r.client_saturated {
        out += " — WARNING: the client is saturated; the figures may be its limit, not the server's";
    }
    out += &format!("\nRequests/sec: {:.2}\n", r.rps);
    out
}

pub fn plot(args: PlotArgs) -> Result<()> {
    let results = report::json::read(&args.results)?;
    let dir = match args.out {
        Some(d) => d,
        None => args.results.parent().map(PathBuf::from).unwrap_or_default(),
    };
    std::fs::create_dir_all(&dir)?;
    let mut files = Vec::new();
    for e in [
        &report::svg::Svg as &dyn report::Exporter,
        &report::csv::Csv,
        &report::markdown::Markdown,
    ] {
        files.extend(e.export(&results, &dir)?);
    }
    summarize(&results, &files);
    Ok(())
}

/// The summary table and the list of files written.
fn summarize(results: &report::Results, files: &[PathBuf]) {
    print!("{}", table::render(results));
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    println!("wrote {}", names.join(", "));
}

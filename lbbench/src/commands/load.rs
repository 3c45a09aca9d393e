//! `lbbench load`: load against any server, printed like wrk.

use crate::cli::LoadArgs;
use anyhow::{Context, Result};
use loadgen::target::Target;

pub fn load(args: LoadArgs) -> Result<()> {
    let target = Target::parse(&args.url)?;
    let cpus = match &args.cpus {
        Some(list) => lbproc::parse_cpus(list)?,
        None => Vec::new(),
    };
    let client_cpus = if cpus.is_empty() {
        lbproc::cpus::allowed().len()
    } else {
        cpus.len()
    };
    let threads = model::config::client_threads(args.threads.unwrap_or(0), client_cpus);
    let opts = loadgen::LoadOptions {
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
        realtime: args.realtime && args.rate.is_some(),
    };
    // Ctrl-C ends the window early and the report of what was measured is printed (a second
    // Ctrl-C ends lbbench at once).
    interrupt_ends_the_run()?;
    let (held, awake) = super::keep_cpus_awake(args.keep_cpus_awake);
    let priority = super::client_priority(opts.realtime);
    let report = loadgen::run(&opts)?;
    drop(held);
    if args.json {
        let mut json = serde_json::to_value(&report)?;
        json["cpus_awake"] = serde_json::to_value(&awake)?;
        json["client_priority"] = serde_json::to_value(&priority)?;
        println!("{}", serde_json::to_string_pretty(&json)?);
    } else {
        print!("{}", report::load_text::render(&args.url, &report));
        println!("  {}", awake.describe());
        if args.rate.is_some() {
            println!("  {}", priority.describe());
        }
    }
    if report.interrupted {
        eprintln!("interrupted after {:.2} s of the window", report.duration_s);
        std::process::exit(130);
    }
    Ok(())
}

/// SIGINT sets [`loadgen::INTERRUPTED`] once, then has its default action again.
fn interrupt_ends_the_run() -> Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    extern "C" fn interrupted(_: libc::c_int) {
        loadgen::INTERRUPTED.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let action = SigAction::new(SigHandler::Handler(interrupted), SaFlags::SA_RESETHAND, SigSet::empty());
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe { sigaction(Signal::SIGINT, &action) }.context("installing the SIGINT handler")?;
    Ok(())
}

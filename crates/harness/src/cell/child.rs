//! The cell's own side (`lbbench cell`): reads its spec, starts the strategy, answers each
//! window asked for on stdin with its result on stdout, and stops the strategy when stdin ends.
//! A guard process stays above it to stop whatever it leaves behind.

use super::measure::{measure, measure_rate, Here, Lap};
use super::said::{result, Said};
use super::spec::{CellSpec, Window};
use crate::fault;
use crate::netns;
use crate::sandbox;
use crate::server::Server;
use anyhow::{Context, Result};
use model::cell::Timings;
use model::network::Link;
use std::io::{BufRead, Write};
use std::time::Instant;

/// `lbbench cell`.
pub fn main() -> Result<()> {
    crate::guard::split()?;
    if let Err(e) = serve() {
        // The parent shows this text as the cell's error; keep it a message, not a backtrace.
        eprintln!("{e:#}");
        std::process::exit(1);
    }
    Ok(())
}

fn say(said: &Said) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, said)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

fn serve() -> Result<()> {
    // Orphans of the strategy stay below the cell: counted as its processes, and stopped with it.
    crate::procs::become_subreaper()?;
    let mut lines = std::io::stdin().lock().lines();
    let first = lines.next().context("no cell spec on stdin")??;
    let spec: CellSpec = serde_json::from_str(&first).context("reading the cell spec")?;
    let mut launch = spec.launch.clone();
    sandbox::prepare(&mut launch, spec.isolated.then(|| spec.ports()))?;
    // Before the strategy starts: it listens on the server's end of the link.
    let client_netns = match spec.network.topology {
        Link::Veth => Some(netns::client(spec.network.rtt).context("linking the client's network namespace")?),
        Link::Loopback => None,
    };
    let log = spec.run_dir.join("server.log");
    let started = Instant::now();
    let mut server = match Server::spawn(&launch, &spec.cwd, &spec.server_cpus, log) {
        Ok(s) => s,
        Err(e) => return say(&Said::Failed(format!("{e:#}"))),
    };
    let readiness = match server.wait_ready(spec.addr(), spec.server.ready_timeout, spec.workers) {
        Ok(r) => r,
        Err(e) => {
            server.stop(spec.server.stop_grace);
            return say(&Said::Failed(format!("{e:#}")));
        }
    };
    let ready_s = started.elapsed().as_secs_f64();
    say(&Said::Ready { readiness, ready_s })?;
    let mut windows = 0;
    let outcome = (|| {
        for line in lines {
            let window: Window = serde_json::from_str(&line?).context("reading a window")?;
            if !window.closed {
                let mut here = Here {
                    spec: &spec,
                    server: &server,
                    netns: client_netns.as_ref(),
                };
                match measure_rate(&spec, &window, windows == 0, &mut here) {
                    Ok(p) => say(&Said::Point(Box::new(p)))?,
                    Err(e) => say(&Said::Failed(format!("{e:#}")))?,
                }
                windows += 1;
                continue;
            }
            let started_at = crate::clock::now();
            let mut timings = Timings {
                ready_s: if windows == 0 { ready_s } else { 0.0 },
                ..Timings::default()
            };
            let mut lap = Lap(Instant::now());
            let injector = match &spec.fault {
                Some(f) => Some(fault::inject::Injector::arm(
                    f,
                    fault::inject::FaultTarget {
                        server: server.pid(),
                        workers: spec.workers,
                        window: spec.load.duration,
                        launch: launch.clone(),
                        cwd: spec.cwd.clone(),
                        run_dir: spec.run_dir.clone(),
                    },
                )?),
                None => None,
            };
            let mut here = Here {
                spec: &spec,
                server: &server,
                netns: client_netns.as_ref(),
            };
            let first = windows == 0;
            windows += 1;
            match measure(&spec, &window, first, &mut here, injector, &mut timings, &mut lap) {
                Ok(m) => {
                    let mut r = result(&spec, &window, readiness, started_at, m, timings);
                    r.warmup_s = if first {
                        spec.load.warmup.max(spec.startup_warmup)
                    } else {
                        spec.load.warmup
                    }
                    .as_secs_f64();
                    say(&Said::Measured(Box::new(r)))?;
                }
                Err(e) => say(&Said::Failed(format!("{e:#}")))?,
            }
            if !server.running() {
                anyhow::bail!("the strategy exited; its output:\n{}", server.output_tail());
            }
        }
        Ok(())
    })();
    server.stop(spec.server.stop_grace);
    outcome
}

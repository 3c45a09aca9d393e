//! `lbbench host-server`, on the server host: one cell's strategy without load. It finds the
//! strategy in the host's own repository, places its cores on the host's own topology, starts it
//! on a free port of the address the load hosts reach, says when every worker serves, and
//! samples the strategy's CPU over each load run's window, timed from the controller's signal.
//!
//! It runs in the host's network namespace (a private one would be unreachable from the load
//! hosts), as a child subreaper: whatever the strategy starts stays below it and is stopped
//! with it. It stops the strategy when its stdin closes, and at the deadline.

use super::wire::{receive, send, FromServer, ServerCell, ToServer};
use crate::manifest::{self, Layout, Slot};
use crate::server::Server;
use crate::topology::{Placement, Topology, SYSFS};
use anyhow::{bail, Context, Result};
use model::config::SweepConfig;
use std::net::SocketAddr;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

pub fn main() -> Result<()> {
    super::wire::main_reporting(run, |error| FromServer::Failed { error })
}

fn run() -> Result<()> {
    crate::procs::become_subreaper()?;
    let mut input = std::io::BufReader::new(std::io::stdin());
    let cell = match receive(&mut input)? {
        Some(ToServer::Cell(cell)) => cell,
        Some(other) => bail!("expected a cell first, got {other:?}"),
        None => return Ok(()),
    };
    let run_dir = crate::rundir::tempdir(&cell.strategy)?;
    let outcome = serve(&cell, &run_dir, input);
    let _ = std::fs::remove_dir_all(&run_dir);
    outcome
}

fn serve(cell: &ServerCell, run_dir: &std::path::Path, input: impl std::io::BufRead + Send + 'static) -> Result<()> {
    let (server_cpus, launch, port) = prepare(cell, run_dir)?;
    let mut server = Server::spawn(&launch, &cell.root, &server_cpus, run_dir.join("server.log"))?;
    // The deadline kills the strategy too: it dies with this process.
    let deadline = cell.deadline;
    std::thread::spawn(move || {
        std::thread::sleep(deadline);
        eprintln!("lbbench host-server: the deadline of {deadline:?} passed; exiting");
        std::process::exit(4);
    });
    let addr = SocketAddr::new(cell.address, port);
    let readiness = match server.wait_ready(addr, cell.server.ready_timeout, cell.workers) {
        Ok(r) => r,
        Err(e) => {
            server.stop(cell.server.stop_grace);
            return Err(e);
        }
    };
    let out = &mut std::io::stdout().lock();
    send(
        out,
        &FromServer::Ready {
            port,
            readiness,
            server_cpus: server_cpus.clone(),
        },
    )?;
    let me = crate::procs::proc_self_pid();
    let messages = read_messages(input);
    // Ends at Stop, at the end of stdin, or when the controller's message cannot be read; the
    // end of stdin is noticed mid-window too, so a dead controller never leaves the strategy up.
    while let Ok(Ok(Some(ToServer::Window { warmup, duration }))) = messages.recv() {
        if !quiet_for(&messages, warmup) {
            break;
        }
        let start = crate::cpu::sample(me);
        if !quiet_for(&messages, duration) {
            break;
        }
        let end = crate::cpu::sample(me);
        send(
            out,
            &FromServer::Cpu {
                start: Box::new(start),
                end: Box::new(end),
            },
        )?;
    }
    let output_tail = server.output_tail();
    server.stop(cell.server.stop_grace);
    send(out, &FromServer::Stopped { output_tail })
}

/// The controller's messages, read on a thread of their own; `Ok(None)` at the end of stdin.
fn read_messages(mut input: impl std::io::BufRead + Send + 'static) -> Receiver<Result<Option<ToServer>>> {
    let (tx, rx) = channel();
    std::thread::spawn(move || loop {
        let m = receive(&mut input);
        let last = !matches!(m, Ok(Some(_)));
        if tx.send(m).is_err() || last {
            return;
        }
    });
    rx
}

/// Waits `d`; false when the controller said anything meanwhile (or went away): the window is off.
fn quiet_for(messages: &Receiver<Result<Option<ToServer>>>, d: Duration) -> bool {
    matches!(messages.recv_timeout(d), Err(RecvTimeoutError::Timeout))
}

/// The strategy from this host's repository, its CPUs on this host, a free port and its command.
fn prepare(cell: &ServerCell, run_dir: &std::path::Path) -> Result<(Vec<usize>, manifest::Launch, u16)> {
    // The server host's own workers (<repo>/workers): a pair names the worker, found there.
    let layout = Layout::new(cell.root.clone(), cell.bin.clone());
    let strategy = manifest::discover(&cell.servers, &layout)?
        .into_iter()
        .find(|s| s.name == cell.strategy)
        .with_context(|| format!("no strategy {:?} under {}", cell.strategy, cell.servers.display()))?;
    if let Some(why) = strategy.unavailable(Err(
        "with load hosts the server runs in its host's own network namespace",
    )) {
        bail!("{} cannot run on this host: {why}", cell.strategy);
    }
    let allowed = match &cell.cpus {
        Some(list) => lbproc::parse_cpus(list)?,
        None => lbproc::cpus::allowed(),
    };
    let sweep = SweepConfig {
        cores: vec![cell.cores],
        smt: cell.smt,
        ..SweepConfig::default()
    };
    let topology = Topology::read(std::path::Path::new(SYSFS))?;
    let placement = Placement::plan(topology, &allowed, &sweep)?;
    let server_cpus = placement
        .server(cell.cores)
        .context("no placement for this core count")?
        .to_vec();
    // Fronted strategies put their workers on the ports after the public one.
    let port = lbproc::ports::free_block(cell.workers)?;
    let slot = Slot {
        workers: cell.workers,
        port,
        cpus: lbproc::format_cpus(&server_cpus),
        host: cell.address.to_string(),
        run_dir: run_dir.to_path_buf(),
        stop_grace_ms: cell.server.stop_grace.as_millis() as u64,
    };
    let launch = strategy.launch(&slot, &layout)?;
    Ok((server_cpus, launch, port))
}

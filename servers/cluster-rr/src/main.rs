//! Cluster round-robin: the master owns the listening socket, accepts every connection and hands
//! its descriptor to the next worker in turn over a Unix channel (Node's default SCHED_RR).

use anyhow::Context;
use clap::Parser;
use hello::fdpass::{channel, register, send_fd};
use hello::{process, worker, StrategyArgs};
use std::os::fd::{AsRawFd, OwnedFd};
use tokio::net::TcpListener;

fn main() -> std::process::ExitCode {
    hello::main(run)
}

fn run() -> anyhow::Result<()> {
    let args = StrategyArgs::parse();
    args.apply()?;
    let listener = worker::bind(args.addr(), false)?;
    let channels = (0..args.workers).map(|_| channel()).collect::<Result<Vec<_>, _>>()?;
    let (to_workers, worker_ends): (Vec<OwnedFd>, Vec<OwnedFd>) = channels.into_iter().unzip();
    let workers = process::fork_workers(args.workers, |id| {
        // The worker only needs its own end; the listener and the master's ends stay in the master.
        let chan = worker_ends[id].try_clone()?;
        worker::serve_channel(chan, id, args.idle())
    })?;
    drop(worker_ends);
    worker::block_on(async move {
        tokio::select! {
            r = process::supervise(&workers) => r,
            r = distribute(listener, to_workers) => { process::stop(&workers, std::time::Duration::from_secs(2)); r }
        }
    })?
}

/// Accepts forever, handing connection k to worker k mod N.
async fn distribute(listener: std::net::TcpListener, to_workers: Vec<OwnedFd>) -> anyhow::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let to_workers = to_workers.into_iter().map(register).collect::<Result<Vec<_>, _>>()?;
    let mut next = 0;
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("master: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let chan = &to_workers[next];
        next = (next + 1) % to_workers.len();
        loop {
            let mut ready = chan.writable().await?;
            match ready.try_io(|c| send_fd(c, stream.as_raw_fd())) {
                Ok(r) => {
                    r.context("handing a connection to a worker (did it die?)")?;
                    break;
                }
                Err(_would_block) => continue,
            }
        }
        // `stream` drops here: the worker now holds the only descriptor of the connection.
    }
}

//! Shared socket: the master binds one listening socket and forks; every worker inherits it and
//! accepts on it, so the kernel's wake-up order decides who gets a connection (Node's SCHED_NONE).

use clap::Parser;
use hello::{process, worker, StrategyArgs};

fn main() -> std::process::ExitCode {
    hello::main(run)
}

fn run() -> anyhow::Result<()> {
    let args = StrategyArgs::parse();
    args.apply()?;
    let listener = worker::bind(args.addr(), false)?;
    let workers = process::fork_workers(args.workers, |id| {
        worker::serve_listener(listener.try_clone()?, id, args.idle())
    })?;
    drop(listener);
    worker::block_on(process::supervise(&workers))?
}

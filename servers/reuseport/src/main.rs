//! SO_REUSEPORT: each worker binds its own listening socket on the shared port and the kernel
//! spreads new connections over them by a hash of the connection's addresses.

use clap::Parser;
use hello::{process, worker, StrategyArgs};

fn main() -> std::process::ExitCode {
    hello::main(run)
}

fn run() -> anyhow::Result<()> {
    let args = StrategyArgs::parse();
    args.apply()?;
    anyhow::ensure!(
        args.port != 0,
        "reuseport needs a fixed --port: with 0 each worker would get its own"
    );
    let workers = process::fork_workers(args.workers, |id| {
        worker::serve_listener(worker::bind(args.addr(), true)?, id, args.idle())
    })?;
    worker::block_on(process::supervise(&workers))?
}

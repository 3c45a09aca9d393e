//! SO_REUSEPORT: each worker has its own listening socket on the shared port and the kernel
//! spreads new connections over them by a hash of the connection's addresses.

use anyhow::Result;
use hello::{worker, StrategyArgs};
use lbproc::supervise::{supervise, Master};
use nix::unistd::Pid;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::time::Duration;

fn main() -> std::process::ExitCode {
    hello::main(|a: &StrategyArgs| a, run)
}

fn run(args: StrategyArgs) -> Result<()> {
    anyhow::ensure!(
        args.port != 0,
        "reuseport needs a fixed --port: with 0 each worker would get its own"
    );
    let mut master = ReusePort {
        addr: args.addr(),
        idle: args.idle(),
    };
    supervise(&mut master, args.workers, args.policy())
}

struct ReusePort {
    addr: SocketAddr,
    idle: Duration,
}

impl Master for ReusePort {
    fn spawn(&mut self, i: usize) -> Result<Pid> {
        let listener: TcpListener = worker::bind(self.addr, true)?;
        let idle = self.idle;
        lbproc::fork_child(&[listener.as_raw_fd()], move || {
            worker::serve_listener(listener, i, idle)
        })
    }
}

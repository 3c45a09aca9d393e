//! SO_REUSEPORT: each worker has its own listening socket on the shared port and the kernel
//! spreads new connections over them by a hash of the connection's addresses.

use anyhow::Result;
use hello::{worker, StrategyArgs};
use lbproc::supervise::{supervise, Master};
use nix::unistd::Pid;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;

fn main() -> std::process::ExitCode {
    hello::main(|a: &StrategyArgs| a, run)
}

fn run(args: StrategyArgs) -> Result<()> {
    anyhow::ensure!(
        args.port != 0,
        "reuseport needs a fixed --port: with 0 each worker would get its own"
    );
    // Every socket is bound (and joins the port's group) before any worker serves, so no
    // connection opened early is hashed over fewer sockets than the strategy has.
    let bound = (0..args.workers)
        .map(|_| worker::bind(args.addr(), true).map(Some))
        .collect::<Result<Vec<_>>>()?;
    let mut master = ReusePort {
        addr: args.addr(),
        timeouts: args.timeouts(),
        bound,
    };
    supervise(&mut master, args.workers, args.policy())
}

struct ReusePort {
    addr: SocketAddr,
    timeouts: hello::Timeouts,
    /// Sockets bound at start, each taken by its worker; a replacement binds a new one.
    bound: Vec<Option<TcpListener>>,
}

impl Master for ReusePort {
    fn spawn(&mut self, i: usize) -> Result<Pid> {
        let listener = match self.bound[i].take() {
            Some(l) => l,
            None => worker::bind(self.addr, true)?,
        };
        let timeouts = self.timeouts;
        lbproc::fork_child(&[listener.as_raw_fd()], move || {
            worker::serve_listener(listener, i, timeouts)
        })
    }
}

//! Shared socket: the master binds one listening socket and forks; every worker inherits it and
//! accepts on it, so the kernel's wake-up order decides who gets a connection (Node's SCHED_NONE).

use anyhow::Result;
use hello::{worker, StrategyArgs};
use lbproc::supervise::{supervise, Master};
use nix::unistd::Pid;
use std::net::TcpListener;
use std::os::fd::AsRawFd;

fn main() -> std::process::ExitCode {
    hello::main(|a: &StrategyArgs| a, run)
}

fn run(args: StrategyArgs) -> Result<()> {
    let mut master = Shared {
        listener: worker::bind(args.addr(), false)?,
        timeouts: args.timeouts(),
    };
    supervise(&mut master, args.workers, args.policy())
}

struct Shared {
    listener: TcpListener,
    timeouts: hello::Timeouts,
}

impl Master for Shared {
    fn spawn(&mut self, i: usize) -> Result<Pid> {
        let listener = self.listener.try_clone()?;
        let timeouts = self.timeouts;
        lbproc::fork_child(&[listener.as_raw_fd()], move || {
            worker::serve_listener(listener, i, timeouts)
        })
    }
}

//! Shared socket: the master binds one listening socket and forks; every worker inherits it and
//! accepts on it. By default every waiting worker is woken for a connection and the first to
//! accept wins (Node's SCHED_NONE); with `--exclusive` the kernel wakes one idle worker
//! (EPOLLEXCLUSIVE, as nginx waits on its listeners).

use anyhow::Result;
use clap::Parser;
use hello::{worker, StrategyArgs};
use lbproc::supervise::{supervise, Master};
use nix::unistd::Pid;
use std::net::TcpListener;
use std::os::fd::AsRawFd;

#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: StrategyArgs,
    /// Wait on the socket with EPOLLEXCLUSIVE: the kernel wakes one idle worker per connection
    /// (the first in the order they started waiting) instead of every waiting worker.
    #[arg(long)]
    exclusive: bool,
}

fn main() -> std::process::ExitCode {
    hello::main(|a: &Args| &a.common, run)
}

fn run(args: Args) -> Result<()> {
    let c = &args.common;
    let mut master = Shared {
        listener: worker::bind(c.addr(), false)?,
        timeouts: c.timeouts(),
        exclusive: args.exclusive,
    };
    supervise(&mut master, c.workers, c.policy())
}

struct Shared {
    listener: TcpListener,
    timeouts: hello::Timeouts,
    exclusive: bool,
}

impl Master for Shared {
    fn spawn(&mut self, i: usize) -> Result<Pid> {
        let listener = self.listener.try_clone()?;
        let (timeouts, exclusive) = (self.timeouts, self.exclusive);
        lbproc::fork_child(&[listener.as_raw_fd()], move || {
            if exclusive {
                worker::serve_listener_exclusive(listener, i, timeouts)
            } else {
                worker::serve_listener(listener, i, timeouts)
            }
        })
    }
}

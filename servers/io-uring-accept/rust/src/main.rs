//! io_uring accept: the master binds one listening socket and forks; every worker sets up a ring
//! of its own and accepts on the inherited socket through it, with one multishot accept
//! (`--accept multishot`, Linux 5.19) or one-shot accepts re-armed after each connection
//! (`--accept oneshot`). See `ring.rs` for why the first hands one worker nearly every
//! connection and the second goes round them.

mod probe;

use anyhow::Result;
use clap::Parser;
use hello::{worker, StrategyArgs};
use io_uring_accept::ring::{Mode, RingAccept};
use lbproc::supervise::{supervise, Master};
use nix::unistd::Pid;
use std::net::TcpListener;
use std::os::fd::AsRawFd;

#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: StrategyArgs,
    /// How each worker's ring accepts.
    #[arg(long, value_enum, default_value_t = Mode::Multishot)]
    accept: Mode,
    /// Only say whether this accept works here: exit 0, or 1 with the reason as the first line.
    #[arg(long)]
    probe: bool,
}

fn main() -> std::process::ExitCode {
    hello::main(|a: &Args| &a.common, run)
}

fn run(args: Args) -> Result<()> {
    if args.probe {
        match probe::probe(args.accept) {
            Ok(works) => println!("{works}"),
            Err(why) => {
                println!("{why}");
                std::process::exit(1);
            }
        }
        return Ok(());
    }
    let c = &args.common;
    // The socket stays the master's: a worker that dies takes only its ring, and what is
    // queued on the socket waits for the others.
    let mut master = Shared {
        listener: worker::bind(c.addr(), false)?,
        timeouts: c.timeouts(),
        mode: args.accept,
    };
    supervise(&mut master, c.workers, c.policy())
}

struct Shared {
    listener: TcpListener,
    timeouts: hello::Timeouts,
    mode: Mode,
}

impl Master for Shared {
    fn spawn(&mut self, i: usize) -> Result<Pid> {
        let listener = self.listener.try_clone()?;
        let (timeouts, mode) = (self.timeouts, self.mode);
        // The ring is made in the child: a ring belongs to the task that set it up.
        lbproc::fork_child(&[listener.as_raw_fd()], move || {
            worker::serve_accepted(i, timeouts, None, move || Ok(RingAccept::new(listener, mode)?))
        })
    }
}

//! SO_REUSEPORT with SO_INCOMING_CPU: worker k is pinned to CPU cpus[k % len], and its socket
//! says it wants the connections that CPU receives. When some socket of a group has the option
//! set, the kernel takes its hash as a starting point and returns the first socket, from there,
//! whose CPU is the one handling the SYN (the first by hash if none is). No program, no order
//! to keep: a replacement's new socket asks for the same CPU, wherever it lands in the group.

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
        "reuseport-incoming-cpu needs a fixed --port: with 0 each worker would get its own"
    );
    let mut master = IncomingCpu {
        addr: args.addr(),
        timeouts: args.timeouts(),
        cpus: args.cpu_list()?,
        bound: Vec::new(),
    };
    // Every socket is in the group before any worker serves, so no early connection is hashed
    // over fewer sockets than the strategy has.
    master.bound = (0..args.workers)
        .map(|i| master.bind(i).map(Some))
        .collect::<Result<Vec<_>>>()?;
    supervise(&mut master, args.workers, args.policy())
}

struct IncomingCpu {
    addr: SocketAddr,
    timeouts: hello::Timeouts,
    cpus: Vec<usize>,
    /// Sockets bound at start, each taken by its worker; a replacement binds a new one.
    bound: Vec<Option<TcpListener>>,
}

impl IncomingCpu {
    fn cpu(&self, i: usize) -> usize {
        self.cpus[i % self.cpus.len()]
    }

    /// Worker `i`'s socket, asking for its CPU's connections before it joins the group.
    fn bind(&self, i: usize) -> Result<TcpListener> {
        let cpu = self.cpu(i);
        worker::bind_with(self.addr, true, |s| s.set_cpu_affinity(cpu))
    }
}

impl Master for IncomingCpu {
    fn spawn(&mut self, i: usize) -> Result<Pid> {
        let listener = match self.bound.get_mut(i).and_then(Option::take) {
            Some(l) => l,
            None => self.bind(i)?,
        };
        let (timeouts, cpu) = (self.timeouts, self.cpu(i));
        lbproc::fork_child(&[listener.as_raw_fd()], move || {
            // Accept where the SYNs this socket gets are received.
            lbproc::pin(&[cpu])?;
            worker::serve_listener(listener, i, timeouts)
        })
    }
}

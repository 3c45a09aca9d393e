//! SO_REUSEPORT with a classic BPF program choosing each new connection's socket
//! (SO_ATTACH_REUSEPORT_CBPF): `--select cpu` sends a SYN to the worker pinned to the CPU that
//! received it, `--select random` to a worker drawn at random.
//!
//! The program returns an index into the group's socket array, whose order is the kernel's:
//! sockets are appended as they `listen()`, and when one leaves, the last is moved into its
//! place. So the master binds and listens every socket in worker order (slot k is worker k's),
//! keeps a copy of each, and changes the group only itself, mirroring each change and attaching
//! a program for the new order: a replacement's socket joins at the end (and the program follows
//! it there); a dead worker's socket leaves when the master closes its copy at the reap; a
//! reloaded worker's predecessor leaves when the master shuts its socket down just before it is
//! retired (a socket that stops listening leaves the group at once, though its worker still
//! holds it) — without that, the master could not know when the group's order changes.

mod program;

use anyhow::{ensure, Result};
use clap::Parser;
use hello::{worker, StrategyArgs};
use lbproc::supervise::{supervise, Master};
use nix::unistd::Pid;
use program::{Select, Target};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;

#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: StrategyArgs,
    /// How the program picks a worker for each new connection.
    #[arg(long, value_enum)]
    select: Select,
}

fn main() -> std::process::ExitCode {
    hello::main(|a: &Args| &a.common, run)
}

fn run(args: Args) -> Result<()> {
    let c = &args.common;
    ensure!(
        c.port != 0,
        "reuseport-cbpf needs a fixed --port: with 0 each worker would get its own"
    );
    let mut master = Cbpf {
        addr: c.addr(),
        timeouts: c.timeouts(),
        select: args.select,
        cpus: c.cpu_list()?,
        group: Vec::new(),
        generation: 0,
    };
    // Every socket listens, in worker order, before the program is attached (the program
    // attaches to a listening socket's group) and before any worker serves.
    for i in 0..c.workers {
        master.join(i)?;
    }
    master.steer()?;
    supervise(&mut master, c.workers, c.policy())
}

/// A socket of the group, as the master holds it.
struct Member {
    worker: usize,
    /// Which of the worker's processes has it: its latest member is its current process's.
    generation: u64,
    /// Set once its process is forked.
    pid: Option<Pid>,
    socket: TcpListener,
}

struct Cbpf {
    addr: SocketAddr,
    timeouts: hello::Timeouts,
    select: Select,
    cpus: Vec<usize>,
    /// The group's sockets in the kernel's order.
    group: Vec<Member>,
    generation: u64,
}

impl Cbpf {
    /// Binds and listens a socket for worker `worker`: it joins the group at the end.
    fn join(&mut self, worker: usize) -> Result<()> {
        let socket = worker::bind(self.addr, true)?;
        self.generation += 1;
        self.group.push(Member {
            worker,
            generation: self.generation,
            pid: None,
            socket,
        });
        Ok(())
    }

    /// Closes the master's copy of member `at`'s socket, shut down first (so it leaves the group
    /// now even if its worker still holds it); the kernel moves the last socket into its slot,
    /// as `swap_remove` does.
    fn leave(&mut self, at: usize) {
        let gone = self.group.swap_remove(at);
        let _ = nix::sys::socket::shutdown(gone.socket.as_raw_fd(), nix::sys::socket::Shutdown::Read);
    }

    /// Attaches the program for the group as it is now, through any of its sockets.
    fn steer(&self) -> Result<()> {
        let Some(member) = self.group.first() else {
            // The group is empty and gone; the next socket to listen will attach again.
            return Ok(());
        };
        program::attach(
            &member.socket,
            &program::program(self.select, &self.cpus, &self.targets())?,
        )
    }

    /// Each worker's latest socket and its slot; a predecessor still in the group gets nothing.
    fn targets(&self) -> Vec<Target> {
        let latest = |m: &Member| {
            !self
                .group
                .iter()
                .any(|o| o.worker == m.worker && o.generation > m.generation)
        };
        self.group
            .iter()
            .enumerate()
            .filter(|(_, m)| latest(m))
            .map(|(slot, m)| Target {
                slot: slot as u32,
                worker: m.worker,
            })
            .collect()
    }

    /// The slot of worker `worker`'s latest socket.
    fn latest(&self, worker: usize) -> Option<usize> {
        (0..self.group.len())
            .filter(|&s| self.group[s].worker == worker)
            .max_by_key(|&s| self.group[s].generation)
    }
}

impl Master for Cbpf {
    fn spawn(&mut self, i: usize) -> Result<Pid> {
        // At start worker i's socket is waiting for it; a replacement or a reload's successor
        // joins the group at the end, and the program follows it there before it is forked
        // (connections wait in its queue until it accepts).
        let waiting = self.latest(i).filter(|&s| self.group[s].pid.is_none());
        let slot = match waiting {
            Some(s) => s,
            None => {
                self.join(i)?;
                self.steer()?;
                self.group.len() - 1
            }
        };
        let listener = self.group[slot].socket.try_clone()?;
        let (timeouts, cpu) = (self.timeouts, self.cpus[i % self.cpus.len()]);
        let pin = self.select == Select::Cpu;
        let pid = lbproc::fork_child(&[listener.as_raw_fd()], move || {
            if pin {
                // The CPU whose SYNs the program sends here: the worker accepts where they arrive.
                lbproc::pin(&[cpu])?;
            }
            worker::serve_listener(listener, i, timeouts)
        })?;
        self.group[slot].pid = Some(pid);
        Ok(pid)
    }

    fn exited(&mut self, i: usize) {
        // The dead worker's own descriptor closed with it; the master's copy kept its socket in
        // the group, with its queue, until now (its queued connections are reset here).
        if let Some(slot) = self.latest(i) {
            self.leave(slot);
            if let Err(e) = self.steer() {
                eprintln!("reuseport-cbpf: steering after worker {i} died: {e:#}");
            }
        }
    }

    fn retiring(&mut self, _i: usize, pid: Pid) -> Result<()> {
        // Its worker sees its listener shut down and drains, as at the SIGTERM that follows.
        if let Some(slot) = self.group.iter().position(|m| m.pid == Some(pid)) {
            self.leave(slot);
            self.steer()?;
        }
        Ok(())
    }
}

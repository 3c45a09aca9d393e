//! SO_REUSEPORT with an eBPF sk_reuseport program choosing each new connection's socket from a
//! REUSEPORT_SOCKARRAY map, whose slots the master fills explicitly: slot k is worker k's socket,
//! and a replacement's socket goes back into its predecessor's slot (writing a slot replaces its
//! socket at once; a socket that closes leaves its slot empty, and a program that selects an
//! empty slot gets the kernel's hash). `--select rr`: round-robin from an atomic counter;
//! `--select least`: the worker with the fewest open connections, which the workers count in
//! shared memory. Maps and program are made with raw bpf() calls before any worker is forked
//! (they need CAP_BPF; the workers need nothing). `--probe` says whether they can be made here.

mod asm;
mod bpf;
mod loads;

use anyhow::Result;
use clap::{Parser, ValueEnum};
use hello::{worker, StrategyArgs};
use lbproc::supervise::{supervise, Master};
use loads::Loads;
use nix::unistd::Pid;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd, OwnedFd};

#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: StrategyArgs,
    /// How the program picks a worker for each new connection.
    #[arg(long, value_enum)]
    select: Select,
    /// Only check that the maps and the program can be made here: exit 0 if so, else print why.
    #[arg(long)]
    probe: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Select {
    /// Round-robin over the slots.
    Rr,
    /// The slot whose worker has the fewest open connections.
    Least,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.probe {
        // The first line is the reason lbbench gives for skipping the strategy.
        return match Steering::new(args.select, 2) {
            Ok(_) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                println!("{e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    lbproc::run_main(|| {
        args.common.apply()?;
        run(args)
    })
}

/// The maps and the loaded program.
struct Steering {
    socks: bpf::Map,
    prog: OwnedFd,
    /// Least-loaded only.
    loads: Option<Loads>,
    /// Round-robin only: its counter (the program holds it too).
    _counter: Option<bpf::Map>,
}

impl Steering {
    fn new(select: Select, workers: usize) -> Result<Steering> {
        let n = workers as u32;
        let socks = bpf::Map::create(bpf::MAP_REUSEPORT_SOCKARRAY, 8, n, 0)?;
        Ok(match select {
            Select::Rr => {
                let counter = bpf::Map::create(bpf::MAP_ARRAY, 8, 1, 0)?;
                let prog = bpf::load(&asm::round_robin(counter.raw(), socks.raw(), n))?;
                Steering {
                    socks,
                    prog,
                    loads: None,
                    _counter: Some(counter),
                }
            }
            Select::Least => {
                let loads = Loads::create(workers)?;
                let prog = bpf::load(&asm::least_loaded(loads.map.raw(), socks.raw(), loads.layout))?;
                Steering {
                    socks,
                    prog,
                    loads: Some(loads),
                    _counter: None,
                }
            }
        })
    }
}

fn run(args: Args) -> Result<()> {
    let c = &args.common;
    anyhow::ensure!(
        c.port != 0,
        "reuseport-ebpf needs a fixed --port: with 0 each worker would get its own"
    );
    let steering = Steering::new(args.select, c.workers)?;
    let bound = (0..c.workers)
        .map(|_| worker::bind(c.addr(), true).map(Some))
        .collect::<Result<Vec<_>>>()?;
    // Attached once every socket listens (to a listening socket's group); sockets that join
    // later inherit it.
    if let Some(Some(last)) = bound.last() {
        bpf::attach(last, &steering.prog)?;
    }
    let mut master = Ebpf {
        addr: c.addr(),
        timeouts: c.timeouts(),
        steering,
        bound,
    };
    supervise(&mut master, c.workers, c.policy())
}

struct Ebpf {
    addr: SocketAddr,
    timeouts: hello::Timeouts,
    steering: Steering,
    /// Sockets bound at start, each taken by its worker; a replacement binds a new one.
    bound: Vec<Option<TcpListener>>,
}

impl Master for Ebpf {
    fn spawn(&mut self, i: usize) -> Result<Pid> {
        let listener = match self.bound[i].take() {
            Some(l) => l,
            None => {
                let l = worker::bind(self.addr, true)?;
                // With one worker its death emptied the group, program and all: attach again
                // (to the same group, this replaces the program by itself).
                bpf::attach(&l, &self.steering.prog)?;
                l
            }
        };
        // From here new connections for slot i wait in this socket's queue, not the old one's.
        self.steering.socks.set_socket(i as u32, &listener)?;
        let timeouts = self.timeouts;
        let Some(loads) = &mut self.steering.loads else {
            return lbproc::fork_child(&[listener.as_raw_fd()], move || {
                worker::serve_listener(listener, i, timeouts)
            });
        };
        let cell = loads.take(i);
        let open = loads.counter(cell);
        let pid = lbproc::fork_child(&[listener.as_raw_fd()], move || {
            worker::serve_listener_counted(listener, i, timeouts, open)
        })?;
        loads.owned_by(cell, pid)?;
        loads.point(i, Some(cell));
        Ok(pid)
    }

    fn exited(&mut self, i: usize) {
        // Its socket left slot i as it closed; the least-loaded program skips the slot until a
        // replacement is counted (round-robin's turn on it falls back to the kernel's hash).
        if let Some(loads) = &self.steering.loads {
            loads.point(i, None);
        }
    }
}

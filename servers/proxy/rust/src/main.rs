//! lbproxy: K proxy processes accept on one public socket and spread load over N Hello World
//! workers on private ports, all inside the same CPU budget. `--mode l7` parses requests and sends
//! each to the next worker over pooled keep-alive connections; `--mode l4` gives each client
//! connection to the next worker and copies bytes both ways.

mod l4;
mod l7;
mod upstream;

use anyhow::{Context, Result};
use clap::{Parser, ValueEnum};
use hello::backends::Backends;
use hello::{worker, StrategyArgs};
use lbproc::supervise::{supervise, Master};
use nix::unistd::Pid;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::rc::Rc;
use tokio::net::TcpListener;

#[derive(Parser, Debug)]
struct Args {
    #[command(flatten)]
    common: StrategyArgs,
    #[arg(long, value_enum, default_value_t = Mode::L7)]
    mode: Mode,
    /// Proxy processes [default: one per CPU in --cpus, else 1].
    #[arg(long)]
    proxies: Option<usize>,
    /// Proxy to these addresses instead of starting workers (e.g. 127.0.0.1:9001,127.0.0.1:9002).
    #[arg(long, value_delimiter = ',')]
    upstreams: Vec<SocketAddr>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    /// Balance requests over persistent upstream connections.
    L7,
    /// Balance connections; copy bytes.
    L4,
}

fn main() -> std::process::ExitCode {
    hello::main(|a: &Args| &a.common, run)
}

fn run(args: Args) -> Result<()> {
    let c = &args.common;
    let backends = if args.upstreams.is_empty() {
        Some(Backends::bind(c.host, c.port, c.workers, c.timeouts())?)
    } else {
        None
    };
    let addrs = match &backends {
        Some(b) => b.ports().iter().map(|&p| SocketAddr::new(c.host, p)).collect(),
        None => args.upstreams.clone(),
    };
    let proxies = args.proxies.unwrap_or(c.cpu_count()?).max(1);
    let mut master = Proxy {
        backends,
        listener: worker::bind(c.addr(), false)?,
        addrs,
        mode: args.mode,
        timeouts: c.timeouts(),
    };
    let n = master.backends.as_ref().map_or(0, Backends::len) + proxies;
    supervise(&mut master, n, c.policy())
}

/// Processes 0..N are the workers (when the proxy starts them), the rest proxy processes.
struct Proxy {
    backends: Option<Backends>,
    listener: std::net::TcpListener,
    addrs: Vec<SocketAddr>,
    mode: Mode,
    timeouts: http1::Timeouts,
}

impl Master for Proxy {
    fn spawn(&mut self, i: usize) -> Result<Pid> {
        if let Some(b) = self.backends.as_mut().filter(|b| i < b.len()) {
            return b.spawn(i);
        }
        let listener = self.listener.try_clone()?;
        let (addrs, mode, timeouts) = (self.addrs.clone(), self.mode, self.timeouts);
        lbproc::fork_child(&[listener.as_raw_fd()], move || serve(listener, addrs, mode, timeouts))
    }

    fn reloadable(&self, i: usize) -> bool {
        // A reload replaces the workers; the proxy processes are the balancer, as nginx's are.
        self.backends.as_ref().is_some_and(|b| i < b.len())
    }
}

/// One proxy process: accept forever, one local task per client connection.
fn serve(listener: std::net::TcpListener, addrs: Vec<SocketAddr>, mode: Mode, timeouts: http1::Timeouts) -> Result<()> {
    let upstreams = Rc::new(upstream::Upstreams::new(addrs));
    let local = tokio::task::LocalSet::new();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let pool = Rc::new(l7::Pool::new(upstreams.clone()));
    local.block_on(&rt, async move {
        let listener = TcpListener::from_std(listener).context("registering the listener")?;
        worker::accept_loop(&listener, "proxy", |client| {
            let _ = client.set_nodelay(true);
            match mode {
                Mode::L4 => tokio::task::spawn_local(l4::serve(client, upstreams.clone())),
                Mode::L7 => tokio::task::spawn_local(l7::serve(client, pool.clone(), timeouts)),
            };
        })
        .await;
        Ok(())
    })
}

//! The load generator: one single-threaded runtime per client thread, each pinned to a client CPU,
//! running its share of the connections; per-thread statistics merged once at the end.

pub mod conn;
pub mod stats;

use anyhow::{Context, Result};
use conn::Plan;
pub use stats::LoadReport;
use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub addr: SocketAddr,
    /// Host header value.
    pub host: String,
    pub path: String,
    pub connections: usize,
    pub threads: usize,
    /// CPUs to pin client threads to, round-robin; empty: no pinning.
    pub cpus: Vec<usize>,
    pub duration: Duration,
    pub warmup: Duration,
    pub timeout: Duration,
    pub keepalive: bool,
}

impl LoadOptions {
    fn request(&self) -> Vec<u8> {
        let close = if self.keepalive { "" } else { "Connection: close\r\n" };
        format!("GET {} HTTP/1.1\r\nHost: {}\r\n{close}\r\n", self.path, self.host).into_bytes()
    }
}

/// Runs the load and returns the merged report. Blocks for `warmup + duration`.
pub fn run(opts: &LoadOptions) -> Result<LoadReport> {
    let threads = opts.threads.clamp(1, opts.connections.max(1));
    let measure_from = Instant::now() + opts.warmup;
    let plan = Plan {
        addr: opts.addr,
        request: opts.request(),
        keepalive: opts.keepalive,
        measure_from,
        end: measure_from + opts.duration,
        timeout: opts.timeout,
    };
    let parts = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let conns = opts.connections / threads + usize::from(t < opts.connections % threads);
                let cpu = (!opts.cpus.is_empty()).then(|| opts.cpus[t % opts.cpus.len()]);
                let plan = &plan;
                std::thread::Builder::new()
                    .name(format!("load-{t}"))
                    .spawn_scoped(scope, move || client_thread(plan, conns, cpu))
            })
            .collect::<std::io::Result<_>>()?;
        handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow::anyhow!("a load thread panicked"))?)
            .collect::<Result<Vec<_>>>()
    })?;
    Ok(stats::merge(parts, opts.connections, opts.duration.as_secs_f64()))
}

fn client_thread(plan: &Plan, conns: usize, cpu: Option<usize>) -> Result<stats::ThreadStats> {
    if let Some(cpu) = cpu {
        hello::process::pin(&[cpu])?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("client runtime")?;
    let plan = Rc::new(plan.clone());
    let stats = Rc::new(RefCell::new(stats::ThreadStats::new()));
    let (wall, cpu0) = (Instant::now(), thread_cpu_time());
    let local = tokio::task::LocalSet::new();
    for _ in 0..conns {
        let (plan, stats) = (plan.clone(), stats.clone());
        local.spawn_local(async move { conn::run(&plan, &stats).await });
    }
    // Every connection loop ends by itself at `plan.end`.
    rt.block_on(local);
    let mut stats = Rc::try_unwrap(stats)
        .map_err(|_| anyhow::anyhow!("connection outlived its run"))?
        .into_inner();
    stats.cpu_busy = (thread_cpu_time() - cpu0).as_secs_f64() / wall.elapsed().as_secs_f64().max(1e-9);
    Ok(stats)
}

fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

//! The load generator: one single-threaded runtime per client thread, each pinned to a client CPU,
//! running its share of the connections; per-thread statistics merged once at the end.

pub mod conn;
pub mod pacer;
pub mod priority;
pub mod response;
pub mod socket;
pub mod stats;
pub mod target;
pub mod timeline;

use anyhow::{Context, Result};
use conn::Shared;
use model::limits::{MAX_RUN, MIN_INTERVAL};
use model::load::LoadReport;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::os::fd::BorrowedFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// Requests each connection sends back to back before reading the answers (keep-alive,
    /// closed loop only); 1: one at a time.
    pub pipeline: usize,
    /// Open loop: total requests per second over all connections; None: closed loop.
    pub rate: Option<f64>,
    /// Length of the intervals of the timeline (figures per interval of the window).
    pub interval: Duration,
    /// Open loop: run the pacing threads at real-time priority (see [`priority`]); a thread
    /// the kernel refuses it paces at normal priority, and the report says so.
    #[serde(default)]
    pub realtime: bool,
}

impl LoadOptions {
    /// The bytes of one send: `pipeline` requests back to back.
    fn request(&self) -> Vec<u8> {
        let close = if self.keepalive { "" } else { "Connection: close\r\n" };
        format!("GET {} HTTP/1.1\r\nHost: {}\r\n{close}\r\n", self.path, self.host)
            .repeat(self.pipeline)
            .into_bytes()
    }
}

/// Set (by `lbbench load`'s SIGINT handler) to end a run early: the window closes then, and the
/// report covers what was measured up to it.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// How often a run looks at [`INTERRUPTED`] (never inside the load loop itself).
const WATCH: Duration = Duration::from_millis(20);

/// Sleeps until `at`, or until the run is interrupted; returns when it woke.
fn sleep_until(at: Instant) -> Instant {
    loop {
        let now = Instant::now();
        if now >= at || INTERRUPTED.load(Ordering::Relaxed) {
            return now;
        }
        std::thread::sleep((at - now).min(WATCH));
    }
}

/// Runs the load and returns the merged report. Blocks for `warmup + duration`.
pub fn run(opts: &LoadOptions) -> Result<LoadReport> {
    Ok(run_observed(opts, || ())?.0)
}

/// Runs the load, calling `observe` (on this thread, never on a client thread) as the measured
/// window opens and again as it closes; returns the report and both observations. The client
/// CPUs' busy time over the window is in the report.
pub fn run_observed<T>(opts: &LoadOptions, observe: impl FnMut() -> T) -> Result<(LoadReport, [T; 2])> {
    let (parts, seen) = run_parts(opts, None, observe)?;
    Ok((parts.merge(opts), seen))
}

/// What a run's client threads observed, not yet merged: each thread's statistics, and the busy
/// share of each client CPU over the window. A load host sends this; the controller merges the
/// threads of every host as it merges one host's.
#[derive(Serialize, Deserialize)]
pub struct Parts {
    pub threads: Vec<stats::ThreadStats>,
    #[serde(with = "model::serde_keys")]
    pub client_cpus_busy: BTreeMap<usize, f64>,
    /// Interrupted: the window closed after this many seconds instead of the run's duration.
    #[serde(default)]
    pub interrupted_after_s: Option<f64>,
}

impl std::fmt::Debug for Parts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts").field("threads", &self.threads.len()).finish()
    }
}

impl Parts {
    /// The merged report of this run (what [`run`] returns).
    pub fn merge(self, opts: &LoadOptions) -> LoadReport {
        let window = self.interrupted_after_s.unwrap_or(opts.duration.as_secs_f64());
        let mut report = stats::merge(self.threads, opts.connections, window, opts.rate);
        report.client_cpus_busy = self.client_cpus_busy;
        report.interrupted = self.interrupted_after_s.is_some();
        report
    }
}

/// [`run_observed`], unmerged. With `netns`, every client thread opens its connections in that
/// network namespace (a client of its own, joined to the server's by a veth pair).
pub fn run_parts<T>(
    opts: &LoadOptions,
    netns: Option<BorrowedFd<'_>>,
    mut observe: impl FnMut() -> T,
) -> Result<(Parts, [T; 2])> {
    anyhow::ensure!(opts.connections >= 1, "give at least one connection (-c 1)");
    anyhow::ensure!(opts.pipeline >= 1, "the pipeline depth is at least 1");
    anyhow::ensure!(
        opts.interval >= MIN_INTERVAL,
        "timeline intervals are at least {MIN_INTERVAL:?}"
    );
    anyhow::ensure!(
        !opts.timeout.is_zero(),
        "the request timeout must be positive (every request would time out), e.g. --timeout 5s"
    );
    anyhow::ensure!(
        opts.duration <= MAX_RUN && opts.warmup <= MAX_RUN && opts.timeout <= MAX_RUN,
        "a run's duration, warm-up and timeout are at most {} each",
        humantime::format_duration(MAX_RUN)
    );
    anyhow::ensure!(
        opts.pipeline == 1 || (opts.keepalive && opts.rate.is_none()),
        "pipelining needs keep-alive connections and a closed loop (no --rate)"
    );
    open_files_possible(opts.connections)?;
    raise_open_files(opts.connections)?;
    let threads = opts.threads.clamp(1, opts.connections.max(1));
    let interval = match opts.rate {
        Some(r) if !(r > 0.0 && r.is_finite()) => {
            anyhow::bail!("the rate must be a positive number of requests per second, not {r}")
        }
        Some(r) if r * opts.duration.as_secs_f64() < 1.0 => anyhow::bail!(
            "--rate {r} sends less than one request in the {:?} window: give at least {:.3} req/s or a longer duration",
            opts.duration,
            1.0 / opts.duration.as_secs_f64()
        ),
        // Each connection sends every connections/rate seconds.
        Some(r) => Some(Duration::from_secs_f64(opts.connections as f64 / r)),
        None => None,
    };
    let begin = Instant::now();
    let measure_from = begin + opts.warmup;
    let plan = Shared {
        addr: opts.addr,
        request: opts.request(),
        pipeline: opts.pipeline,
        every: opts.interval,
        keepalive: opts.keepalive,
        interval,
        begin,
        clock: pacer::Clock::now(),
        measure_from,
        end: measure_from + opts.duration,
        timeout: opts.timeout,
        realtime: opts.realtime && interval.is_some(),
    };
    let client_cpus = if opts.cpus.is_empty() {
        lbproc::cpus::allowed()
    } else {
        opts.cpus.clone()
    };
    let (parts, seen) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                // Thread t runs connections first..first+conns of the global numbering.
                let conns = opts.connections / threads + usize::from(t < opts.connections % threads);
                let first = t * (opts.connections / threads) + t.min(opts.connections % threads);
                let cpu = (!opts.cpus.is_empty()).then(|| opts.cpus[t % opts.cpus.len()]);
                let (plan, total) = (&plan, opts.connections);
                std::thread::Builder::new()
                    .name(format!("load-{t}"))
                    .spawn_scoped(scope, move || {
                        client_thread(plan, first..first + conns, total, cpu, netns)
                    })
            })
            .collect::<std::io::Result<_>>()?;
        let mut edge = |at: Instant| {
            let woke = sleep_until(at);
            (observe(), lbproc::cpustat::read(), woke)
        };
        let seen = [edge(plan.measure_from), edge(plan.end)];
        let parts = handles
            .into_iter()
            .map(|h| h.join().map_err(|_| anyhow::anyhow!("a load thread panicked"))?)
            .collect::<Result<Vec<_>>>()?;
        Ok::<_, anyhow::Error>((parts, seen))
    })?;
    let [(first, ticks0, _), (last, ticks1, closed)] = seen;
    let interrupted_after_s =
        (closed < plan.end).then(|| closed.saturating_duration_since(plan.measure_from).as_secs_f64());
    let parts = Parts {
        threads: parts,
        client_cpus_busy: lbproc::cpustat::busy_shares(&ticks0, &ticks1, &client_cpus),
        interrupted_after_s,
    };
    Ok((parts, [first, last]))
}

/// Raises this process's soft open-file limit to its hard limit (silently; what a run needs is
/// checked by [`run`]). Processes started later, strategies among them, inherit it.
pub fn open_files_to_hard_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// Descriptors a run needs beyond one per connection (the runtime, the timers, the CPU readers).
const SPARE_FILES: u64 = 256;

/// More connections than this machine can give descriptors to.
#[derive(Debug, thiserror::Error)]
#[error(
    "{connections} connections need {need} open files, but {}: use at most {} connections",
    if *.root { format!("this kernel allows at most {ceiling} open files per process (fs.nr_open)") }
    else { format!("the hard open-file limit is {ceiling} and only root may raise it") },
    .ceiling.saturating_sub(SPARE_FILES)
)]
pub struct TooManyConnections {
    pub connections: usize,
    pub need: u64,
    /// The most descriptors a process may have here (the kernel's `fs.nr_open` as root, else the
    /// hard limit).
    pub ceiling: u64,
    pub root: bool,
}

/// Whether `connections` could have their descriptors here at all: the hard limit may be raised
/// (as root) only up to the kernel's `fs.nr_open`.
pub fn open_files_possible(connections: usize) -> Result<()> {
    use nix::sys::resource::{getrlimit, Resource};
    let need = connections as u64 + SPARE_FILES;
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("reading the open-file limit")?;
    let root = nix::unistd::geteuid().is_root();
    let ceiling = if root {
        std::fs::read_to_string("/proc/sys/fs/nr_open")
            .ok()
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(hard)
            .max(hard)
    } else {
        hard
    };
    if need > ceiling {
        return Err(TooManyConnections {
            connections,
            need,
            ceiling,
            root,
        }
        .into());
    }
    Ok(())
}

/// Every connection needs a descriptor, plus a few for the runtime: raises this process's
/// soft limit (and, as root, the hard one) as far as that takes, or says why it cannot.
fn raise_open_files(connections: usize) -> Result<()> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let need = connections as u64 + SPARE_FILES;
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).context("reading the open-file limit")?;
    if soft >= need {
        return Ok(());
    }
    let new_hard = if hard >= need { hard } else { need };
    match setrlimit(Resource::RLIMIT_NOFILE, need, new_hard) {
        Ok(()) => {
            if need > soft {
                eprintln!("raised the open-file limit from {soft} to {need} for {connections} connections");
            }
            Ok(())
        }
        Err(e) => anyhow::bail!(
            "{connections} connections need {need} open files, but the limit is {soft} (hard {hard}) and \
             cannot be raised ({e}): raise it (`ulimit -n {need}`, as root or in \
             /etc/security/limits.conf) or use fewer connections"
        ),
    }
}

fn client_thread(
    plan: &Shared,
    conns: Range<usize>,
    total: usize,
    cpu: Option<usize>,
    netns: Option<BorrowedFd<'_>>,
) -> Result<stats::ThreadStats> {
    if let Some(cpu) = cpu {
        lbproc::pin(&[cpu])?;
    }
    if let Some(ns) = netns {
        // Only this thread moves: its sockets belong to the client's network namespace.
        nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET)
            .context("entering the client's network namespace")?;
    }
    let realtime = plan.realtime && priority::raise().is_ok();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("client runtime")?;
    let plan = Rc::new(plan.clone());
    let timeline = timeline::Timeline::new(plan.measure_from, plan.every, plan.end - plan.measure_from);
    let mut own = stats::ThreadStats::new(plan.interval.is_some()).with_timeline(timeline);
    own.realtime = realtime;
    let stats = Rc::new(RefCell::new(own));
    let (wall, cpu0) = (Instant::now(), ThreadTime::now());
    let local = tokio::task::LocalSet::new();
    // Open loop: one timer for all of this thread's connections, driven by a task of its own.
    let schedule = match plan.interval {
        Some(_) => {
            let _guard = rt.enter();
            Some(
                pacer::Schedule::new(plan.clock, conns.len(), plan.measure_from)
                    .context("creating the pacing timer")?,
            )
        }
        None => None,
    };
    if let Some(s) = &schedule {
        local.spawn_local(s.clone().run());
    }
    // This thread's CPU time at the window's edges, read by the thread itself (a thread's
    // schedstat cannot be read once it has exited, which it may have by the time another
    // thread looks at the end).
    let edges: Rc<std::cell::Cell<[Option<ThreadTime>; 2]>> = Rc::default();
    {
        let (edges, plan) = (edges.clone(), plan.clone());
        local.spawn_local(async move {
            tokio::time::sleep_until(plan.measure_from.into()).await;
            edges.set([Some(ThreadTime::now()), None]);
            tokio::time::sleep_until(plan.end.into()).await;
            edges.set([edges.get()[0], Some(ThreadTime::now())]);
        });
    }
    let mut handles = Vec::with_capacity(conns.len());
    for (id, c) in conns.enumerate() {
        let (plan, stats, schedule) = (plan.clone(), stats.clone(), schedule.clone());
        // Open loop: connection c starts c/total of an interval late, spreading sends evenly.
        let offset = plan
            .interval
            .map_or(Duration::ZERO, |i| i.mul_f64(c as f64 / total as f64));
        handles
            .push(local.spawn_local(async move {
                conn::run(&plan, &stats, schedule.as_ref().map(|s| (s, id)), offset).await
            }));
    }
    // Every connection loop ends by itself at `plan.end`; the pacing task is dropped then. An
    // interrupted run drops them all where they are.
    let interrupted = rt.block_on(local.run_until(async {
        let all = async {
            for h in handles {
                h.await
                    .map_err(|e| anyhow::anyhow!("a connection task failed: {e}"))??;
            }
            Ok::<_, anyhow::Error>(())
        };
        let stop = async {
            while !INTERRUPTED.load(Ordering::Relaxed) {
                tokio::time::sleep(WATCH).await;
            }
        };
        tokio::select! {
            done = all => done.map(|()| false),
            () = stop => Ok(true),
        }
    }))?;
    drop(local);
    let mut stats = Rc::try_unwrap(stats)
        .map_err(|_| anyhow::anyhow!("connection outlived its run"))?
        .into_inner();
    stats.wakeups = schedule.map(|s| s.lateness());
    if interrupted {
        // What was sent and not yet answered when the run stopped.
        let done = stats.ok + stats.non_2xx.values().sum::<u64>() + stats.errors.total() + stats.in_flight_at_end;
        stats.in_flight_at_end += stats.sent.saturating_sub(done);
    }
    let now = ThreadTime::now();
    // An interrupted run's window ends now.
    if let [Some(open), close] = edges.get() {
        stats.window_cpu_s = close.unwrap_or(now).since(open).running.as_secs_f64();
    }
    let (used, wall) = (now.since(cpu0), wall.elapsed().as_secs_f64().max(1e-9));
    stats.cpu_busy = used.running.as_secs_f64() / wall;
    stats.cpu_wanted = (used.running + used.waiting).as_secs_f64() / wall;
    Ok(stats)
}

/// The calling thread's time on a CPU, and waiting in the run queue for one.
#[derive(Clone, Copy, Debug)]
struct ThreadTime {
    running: Duration,
    waiting: Duration,
}

impl ThreadTime {
    /// From /proc/thread-self/schedstat; without it (no schedstats in this kernel), the thread's
    /// CPU clock and no waiting.
    fn now() -> ThreadTime {
        let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok();
        let mut fields = stat
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(|f| f.parse::<u64>().ok());
        if let (Some(Some(run)), Some(Some(wait))) = (fields.next(), fields.next()) {
            return ThreadTime {
                running: Duration::from_nanos(run),
                waiting: Duration::from_nanos(wait),
            };
        }
        let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime writes into the timespec we own.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        ThreadTime {
            running: Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32),
            waiting: Duration::ZERO,
        }
    }

    fn since(self, earlier: ThreadTime) -> ThreadTime {
        ThreadTime {
            running: self.running.saturating_sub(earlier.running),
            waiting: self.waiting.saturating_sub(earlier.waiting),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spinning thread is on a CPU or waiting for one all the time, however loaded the machine
    /// is; a sleeping one is neither. This is what the client-saturation flag rests on.
    #[test]
    fn thread_time_tells_spinning_from_sleeping() {
        let measure = |spin: bool| {
            std::thread::spawn(move || {
                let (t0, wall) = (ThreadTime::now(), Instant::now());
                // One long sleep: each wake-up may wait in the run queue of a busy machine.
                while wall.elapsed() < Duration::from_millis(300) {
                    if !spin {
                        std::thread::sleep(Duration::from_millis(300));
                    }
                }
                let used = ThreadTime::now().since(t0);
                (used.running + used.waiting).as_secs_f64() / wall.elapsed().as_secs_f64()
            })
            .join()
            .unwrap()
        };
        let (spinning, sleeping) = (measure(true), measure(false));
        // Not 1.0: a container's CPU quota can hold a runnable thread back (throttled), which
        // counts as neither; on a loaded 2-CPU machine that took up to a third.
        assert!(spinning > 0.5, "spinning: {spinning}");
        assert!(sleeping < 0.2, "sleeping: {sleeping}");
    }
}

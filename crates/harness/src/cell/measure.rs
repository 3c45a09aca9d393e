//! One cell's measurement: the closed-loop run (with the fault), the open-loop steps and the
//! capacity search, driven from this process or from load hosts.

use super::spec::{CellSpec, Window};
use crate::capacity;
use crate::cpu;
use crate::fault;
use crate::netns;
use crate::server::Server;
use anyhow::{bail, Context, Result};
use model::cell::{Fairness, OpenLoopPoint, Timings};
use model::cpu::{Bottleneck, CpuReport};
use model::fault::{FaultKind, FaultReport};
use model::load::LoadReport;
use model::load_host::HostFigures;
use model::slo::Capacity;
use std::time::Instant;

/// A stopwatch read in laps.
pub struct Lap(pub Instant);

impl Lap {
    /// Seconds since the last lap.
    pub fn split(&mut self) -> f64 {
        let now = Instant::now();
        let s = (now - self.0).as_secs_f64();
        self.0 = now;
        s
    }
}

/// One load run, with what the strategy's CPU did over exactly its measured window.
pub struct Measured {
    pub load: LoadReport,
    pub cpu: CpuReport,
    pub bottleneck: Bottleneck,
    /// With load hosts: each one's figures.
    pub hosts: Vec<HostFigures>,
}

/// What one window of a cell measured.
pub struct Measurement {
    /// The closed-loop run.
    pub closed: Measured,
    /// The open-loop steps (first round).
    pub open_loop: Vec<OpenLoopPoint>,
    /// The open-loop window at the group's common rate, when asked.
    pub common_rate: Option<OpenLoopPoint>,
    /// Under the latency objective (first round, when searched).
    pub capacity: Option<Capacity>,
    /// What the fault cost.
    pub fault: Option<FaultReport>,
}

/// Runs load against a cell's strategy and accounts its CPU over each window: from this process
/// ([`Here`]), or from load hosts over SSH (`remote::Controller`).
pub trait Drive {
    /// `opened` is called the moment the measured window opens.
    fn run(&mut self, opts: &loadgen::LoadOptions, opened: &mut dyn FnMut()) -> Result<Measured>;
    /// The strategy's last lines of output, for errors.
    fn output_tail(&self) -> String;
}

/// Load from this process, with the strategy below it.
pub struct Here<'a> {
    pub spec: &'a CellSpec,
    pub server: &'a Server,
    /// The veth topology: the client's own network namespace.
    pub netns: Option<&'a netns::Netns>,
}

impl Drive for Here<'_> {
    fn run(&mut self, opts: &loadgen::LoadOptions, opened: &mut dyn FnMut()) -> Result<Measured> {
        // The strategy's processes are this cell's descendants (it is their subreaper).
        let me = crate::procs::proc_self_pid();
        let mut ahead = Some(cpu::ahead(me));
        let (parts, [start, end]) = loadgen::run_parts(opts, self.netns.map(|n| n.fd()), || match ahead.take() {
            Some(ahead) => {
                let start = ahead.at_edge();
                opened();
                start
            }
            None => cpu::sample(me),
        })?;
        let load = parts.merge(opts);
        let client = cpu::Client {
            cpus: &self.spec.client_cpus,
        };
        let cpu = cpu::account(
            &start,
            &end,
            opts.duration.as_secs_f64(),
            load.ok,
            &self.spec.server_cpus,
            Some(client),
        );
        let bottleneck = Bottleneck::judge(self.spec.shared_cpus(), load.client_saturated, cpu.server_cpus_util());
        Ok(Measured {
            load,
            cpu,
            bottleneck,
            hosts: Vec::new(),
        })
    }

    fn output_tail(&self) -> String {
        self.server.output_tail()
    }
}

/// One load run, measured again while the machine spoils it (steal, or other work on its CPUs,
/// above the profile's threshold; in open loop, the client's wake-ups coming late), at most
/// `noise.redo` more times; the least spoiled window is
/// kept, and says why the others were not. A window with a fault is never redone: the fault
/// changed the server.
fn run_kept(
    spec: &CellSpec,
    drive: &mut dyn Drive,
    opts: &loadgen::LoadOptions,
    opened: &mut dyn FnMut(),
    redo: bool,
) -> Result<Measured> {
    // An open-loop window whose client woke late is worse than any noise figure.
    let score = |m: &Measured| {
        let noise = m
            .cpu
            .noise
            .as_ref()
            .map_or(0.0, |n| n.server_steal.max(n.client_steal).max(n.interference));
        noise + f64::from(u8::from(m.load.woke_late()))
    };
    let mut tries: Vec<(Measured, Option<String>)> = Vec::new();
    loop {
        let m = drive.run(opts, opened)?;
        let late = m.load.woke_late().then(|| m.load.late_sends()).flatten();
        let spoiled = m
            .cpu
            .noise
            .as_ref()
            .and_then(|n| n.spoiled(spec.noise.threshold))
            .or(late.map(|why| format!("the client's timer woke late: {why}")));
        let again = spoiled.is_some() && redo && tries.len() < spec.noise.redo;
        tries.push((m, spoiled));
        if !again {
            break;
        }
    }
    let best = (0..tries.len())
        .min_by(|&a, &b| score(&tries[a].0).total_cmp(&score(&tries[b].0)))
        .unwrap_or(0);
    let (mut kept, _) = tries.swap_remove(best);
    if let Some(n) = kept.cpu.noise.as_mut() {
        n.redone = tries.into_iter().filter_map(|(_, why)| why).collect();
    }
    Ok(kept)
}

/// A closed-loop run of `window`'s workload; the first window after the start warms up as long
/// as the strategy asks.
fn closed_options(spec: &CellSpec, window: &Window, first: bool) -> loadgen::LoadOptions {
    let w = &window.workload_spec;
    loadgen::LoadOptions {
        addr: spec.addr(),
        host: spec.addr().to_string(),
        path: w.path(),
        connections: w.connections.unwrap_or(spec.load.connections),
        threads: spec.load.threads(spec.client_cpus.len()),
        cpus: spec.client_cpus.clone(),
        duration: spec.load.duration,
        warmup: if first {
            spec.load.warmup.max(spec.startup_warmup)
        } else {
            spec.load.warmup
        },
        timeout: spec.load.request_timeout,
        keepalive: w.keepalive(),
        pipeline: w.pipeline,
        rate: None,
        interval: spec.load.interval,
        // Used by the open-loop windows made from these options only.
        realtime: spec.load.client_realtime,
    }
}

/// An open-loop window at `rate` (redone while spoiled); its fraction is of `of_rps`.
fn open_point(
    spec: &CellSpec,
    drive: &mut dyn Drive,
    closed: &loadgen::LoadOptions,
    rate: f64,
    of_rps: f64,
) -> Result<OpenLoopPoint> {
    let opts = loadgen::LoadOptions {
        rate: Some(rate),
        // An offered rate is of requests, one at a time.
        pipeline: 1,
        duration: spec.load.open_loop_duration,
        warmup: spec.load.open_loop_warmup,
        ..closed.clone()
    };
    let run = run_kept(spec, drive, &opts, &mut || (), true)?;
    Ok(OpenLoopPoint {
        fraction: rate / of_rps.max(1e-9),
        fairness: Fairness::of(&run.load.per_worker, spec.workers),
        cpu: Some(run.cpu),
        bottleneck: Some(run.bottleneck),
        load: run.load,
        load_hosts: run.hosts,
    })
}

/// Only the open-loop window at `window`'s common rate (the `alternate` design runs it in a pass
/// of its own, once every strategy's closed loop of the round has set the rate); its fraction is
/// left for the caller, who knows the round's closed-loop maximum.
pub fn measure_rate(spec: &CellSpec, window: &Window, first: bool, drive: &mut dyn Drive) -> Result<OpenLoopPoint> {
    let rate = window.common_rate.context("a common-rate window without a rate")?;
    open_point(spec, drive, &closed_options(spec, window, first), rate, 0.0)
}

/// The closed-loop maximum (with the fault, if any), then (first round only) the open-loop steps
/// at fractions of it and the capacity under the latency objective, and the window at the
/// group's common rate when asked.
pub fn measure(
    spec: &CellSpec,
    window: &Window,
    first: bool,
    drive: &mut dyn Drive,
    injector: Option<fault::inject::Injector>,
    timings: &mut Timings,
    lap: &mut Lap,
) -> Result<Measurement> {
    let closed = closed_options(spec, window, first);
    let faulty = injector.is_some();
    let report = run_kept(
        spec,
        drive,
        &closed,
        &mut || {
            if let Some(i) = &injector {
                i.window_opened();
            }
        },
        !faulty,
    )?;
    let fault = injector.map(|i| {
        let mut r = fault::report(spec.fault.as_ref(), i.finish(), &report.load);
        let killed = matches!(r.kind, Some(FaultKind::Kill | FaultKind::Term));
        if killed && r.at_ms.is_some() && r.respawned_ms.is_none() && r.note.is_none() {
            // Whatever stopped the replacement, the strategy's own output is where it shows.
            r.note = Some(format!(
                "worker {} was not replaced within the window; the strategy's last output:\n{}",
                r.worker.unwrap_or_default(),
                drive.output_tail()
            ));
        }
        r
    });
    timings.closed_s = lap.split();
    if report.load.requests == 0 {
        bail!(
            "no response in {:?} ({} errors: {:?}); the strategy's output:\n{}",
            spec.load.duration,
            report.load.errors,
            report.load.error_kinds,
            drive.output_tail()
        );
    }
    let fractions = if window.repeat == 0 {
        spec.load.open_loop.as_slice()
    } else {
        &[]
    };
    let mut open_loop = Vec::with_capacity(fractions.len());
    for &f in fractions {
        let mut point = open_point(spec, drive, &closed, f * report.load.rps, report.load.rps)?;
        point.fraction = f;
        open_loop.push(point);
    }
    let common_rate = window
        .common_rate
        .map(|r| open_point(spec, drive, &closed, r, report.load.rps))
        .transpose()?;
    timings.open_loop_s = lap.split();
    let capacity = match spec.slo.p99 {
        Some(target) if window.repeat == 0 => {
            let probe = |rate: f64| {
                let opts = loadgen::LoadOptions {
                    rate: Some(rate),
                    pipeline: 1,
                    duration: spec.slo.step,
                    warmup: spec.slo.warmup,
                    ..closed.clone()
                };
                // A probe the machine spoiled is measured again like any window, so a stall of
                // the host's is not taken for the client's limit, nor for the server's.
                let l = run_kept(spec, drive, &opts, &mut || (), true)?.load;
                Ok(capacity::Probed {
                    p99_us: l.latency_us.p99,
                    failed_share: l.failed_share(),
                    rate_reached: l.rate_reached.unwrap_or(false),
                    client_late: l.client_lagged(),
                })
            };
            Some(capacity::search(
                &spec.slo,
                target.as_micros() as u64,
                report.load.rps,
                probe,
            )?)
        }
        _ => None,
    };
    timings.capacity_s = lap.split();
    Ok(Measurement {
        closed: report,
        open_loop,
        common_rate,
        capacity,
        fault,
    })
}

//! One cell's measurement: the closed-loop run (with the fault), the open-loop steps and the
//! capacity search, driven from this process or from load hosts.

use super::spec::CellSpec;
use crate::capacity;
use crate::cpu;
use crate::fault;
use crate::netns;
use crate::server::Server;
use anyhow::{bail, Result};
use model::cell::{Fairness, OpenLoopPoint, Timings};
use model::cpu::{Bottleneck, CpuReport};
use model::fault::FaultReport;
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

/// The closed-loop run, the open-loop steps, the capacity and what the fault cost.
pub type Measurement = (Measured, Vec<OpenLoopPoint>, Option<Capacity>, Option<FaultReport>);

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
        let mut first = true;
        let (parts, [start, end]) = loadgen::run_parts(opts, self.netns.map(|n| n.fd()), || {
            if std::mem::take(&mut first) {
                opened();
            }
            cpu::sample(me)
        })?;
        let load = parts.merge(opts);
        let cpu = cpu::account(
            &start,
            &end,
            opts.duration.as_secs_f64(),
            load.ok,
            &self.spec.server_cpus,
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

/// The closed-loop maximum (with the fault, if any), then (first repeat only) the open-loop steps
/// at fractions of it and the capacity under the latency objective.
pub fn measure(
    spec: &CellSpec,
    drive: &mut dyn Drive,
    injector: Option<fault::inject::Injector>,
    timings: &mut Timings,
    lap: &mut Lap,
) -> Result<Measurement> {
    let threads = spec.load.threads(spec.client_cpus.len());
    let closed = loadgen::LoadOptions {
        addr: spec.addr(),
        host: spec.addr().to_string(),
        path: spec.workload_spec.path(),
        connections: spec.workload_spec.connections.unwrap_or(spec.load.connections),
        threads,
        cpus: spec.client_cpus.clone(),
        duration: spec.load.duration,
        warmup: spec.load.warmup,
        timeout: spec.load.request_timeout,
        keepalive: spec.workload_spec.keepalive(),
        pipeline: spec.workload_spec.pipeline,
        rate: None,
        interval: spec.load.interval,
    };
    let report = drive.run(&closed, &mut || {
        if let Some(i) = &injector {
            i.window_opened();
        }
    })?;
    let fault = injector.map(|i| fault::report(spec.fault.as_ref(), i.finish(), &report.load));
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
    let fractions = if spec.repeat == 0 {
        spec.load.open_loop.as_slice()
    } else {
        &[]
    };
    let open_loop = fractions
        .iter()
        .map(|&fraction| {
            let opts = loadgen::LoadOptions {
                rate: Some(fraction * report.load.rps),
                // An offered rate is of requests, one at a time.
                pipeline: 1,
                duration: spec.load.open_loop_duration,
                warmup: spec.load.open_loop_warmup,
                ..closed.clone()
            };
            let run = drive.run(&opts, &mut || ())?;
            Ok(OpenLoopPoint {
                fraction,
                fairness: Fairness::of(&run.load.per_worker, spec.workers),
                cpu: Some(run.cpu),
                bottleneck: Some(run.bottleneck),
                load: run.load,
                load_hosts: run.hosts,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    timings.open_loop_s = lap.split();
    let capacity = match spec.slo.p99 {
        Some(target) if spec.repeat == 0 => {
            let probe = |rate: f64| {
                let opts = loadgen::LoadOptions {
                    rate: Some(rate),
                    pipeline: 1,
                    duration: spec.slo.step,
                    warmup: spec.slo.warmup,
                    ..closed.clone()
                };
                let l = drive.run(&opts, &mut || ())?.load;
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
    Ok((report, open_loop, capacity, fault))
}

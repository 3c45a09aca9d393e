//! What the server spent: CPU time of every process of the strategy, split by program, how busy
//! each server and client CPU was, and what the machine did besides (`noise`) — sampled at the
//! start and the end of a measured window, never in the load loop.

mod noise;
pub mod tasks;

pub use noise::{machine_check, Client};

use lbproc::cpustat::{self, CpuTimes};
use model::cpu::{CpuReport, ProgramCpu};
use serde::{Deserialize, Serialize};
use tasks::ProcTime;

/// Everything read at one instant (a server host sends its two to the controller).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    procs: Vec<ProcTime>,
    cpus: Vec<CpuTimes>,
    /// Every other process's ticks so far (neither the strategy's nor lbbench's own), with where
    /// it last ran: the work that is not the measured one.
    #[serde(default)]
    others: Vec<noise::Other>,
    /// The CPUs' counters read with `others`, when that was before `cpus` (a start read ahead):
    /// the noise is then the window's and its warm-up's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    others_cpus: Option<Vec<CpuTimes>>,
}

impl Sample {
    fn edge(&self) -> noise::Edge<'_> {
        noise::Edge {
            cpus: self.others_cpus.as_deref().unwrap_or(&self.cpus),
            others: &self.others,
        }
    }
}

/// A window's start, read in two parts. Listing every process and reading each thread takes
/// milliseconds (1.8–6.1 ms measured on a 2-CPU VM), and at the window's edge the scheduler ran
/// it on the client's CPU (57 of 60 edges there, the server's CPU being busy), just as the
/// client's schedule began: so the listing, the other processes and the preemptions are read
/// before the load begins ([`ahead`]), and at the edge only the CPUs' counters and the
/// strategy's known threads ([`Ahead::at_edge`]).
pub struct Ahead(Sample);

/// The slow part of a window's start, read before its load begins.
pub fn ahead(root: i32) -> Ahead {
    Ahead(sample(root))
}

impl Ahead {
    /// The window's start sample, read at its edge.
    pub fn at_edge(&self) -> Sample {
        let cpus = cpustat::read();
        Sample {
            procs: self.0.procs.iter().map(tasks::reread).collect(),
            cpus,
            others: self.0.others.clone(),
            others_cpus: Some(self.0.cpus.clone()),
        }
    }
}

/// Which program a process of the strategy belongs to: its executable's name, and "workers
/// (<name>)" for the processes that announced themselves as workers.
fn program(p: &procfs::process::Process, stat: &procfs::process::Stat) -> String {
    let exe = p
        .exe()
        .ok()
        .and_then(|e| e.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| stat.comm.clone());
    if crate::procs::worker_index(&stat.comm).is_some() {
        format!("workers ({exe})")
    } else {
        exe
    }
}

/// Reads every CPU's counters, then every process: the strategy's (below `root`, zombies too: they
/// still hold their time) in detail, the others' ticks.
pub fn sample(root: i32) -> Sample {
    let cpus = cpustat::read();
    let all = crate::procs::all();
    let strategy = crate::procs::below_in(&all, root, true);
    // lbbench itself: this process and those above it (the guard, the sweep).
    let lbbench = crate::procs::ancestors_in(&all, crate::procs::proc_self_pid());
    let others = all
        .iter()
        .filter(|s| !strategy.contains(&s.pid) && !lbbench.contains(&s.pid))
        .map(noise::Other::of)
        .collect();
    let procs = strategy
        .into_iter()
        .filter_map(|pid| {
            let p = procfs::process::Process::new(pid).ok()?;
            let s = p.stat().ok()?;
            Some(tasks::read(&p, program(&p, &s), &s))
        })
        .collect();
    Sample {
        procs,
        cpus,
        others,
        others_cpus: None,
    }
}

/// The window from `start` to `end`, `window_s` long, with `ok` 2xx responses, on `server_cpus`;
/// `client`: the client's CPUs when it ran on this machine.
pub fn account(
    start: &Sample,
    end: &Sample,
    window_s: f64,
    ok: u64,
    server_cpus: &[usize],
    client: Option<Client>,
) -> CpuReport {
    let spent = tasks::spent(&start.procs, &end.procs);
    let total_ns: i64 = spent.iter().map(|s| s.ns.max(0)).sum();
    let total = total_ns as f64 / 1e9;
    let (user_ticks, system_ticks) = spent.iter().fold((0i64, 0i64), |(u, s), p| {
        (u + p.user_ticks.max(0), s + p.system_ticks.max(0))
    });
    // Ticks say how the time splits between user and kernel; schedstat says how much it was.
    let user_share = if user_ticks + system_ticks > 0 {
        user_ticks as f64 / (user_ticks + system_ticks) as f64
    } else {
        0.5
    };
    let mut programs: Vec<ProgramCpu> = spent
        .iter()
        .filter(|p| p.ns > 0)
        .map(|p| {
            let cpu_s = p.ns as f64 / 1e9;
            ProgramCpu {
                program: p.program.clone(),
                cpu_s,
                share: if total > 0.0 { cpu_s / total } else { 0.0 },
            }
        })
        .collect();
    programs.sort_by(|a, b| b.cpu_s.total_cmp(&a.cpu_s));
    let involuntary = spent.iter().map(|s| s.involuntary.max(0) as u64).sum();
    let noise = (!server_cpus.is_empty())
        .then(|| noise::of_window(&start.edge(), &end.edge(), server_cpus, client.as_ref(), involuntary));
    CpuReport {
        window_s,
        server_user_s: total * user_share,
        server_system_s: total * (1.0 - user_share),
        by_program: programs,
        server_cpu_us_per_request: if ok > 0 { total * 1e6 / ok as f64 } else { 0.0 },
        server_cpu_util: total / (server_cpus.len().max(1) as f64 * window_s.max(1e-9)),
        requests_per_cpu_second: if total > 0.0 { ok as f64 / total } else { 0.0 },
        server_cpus_busy: cpustat::busy_shares(&start.cpus, &end.cpus, server_cpus),
        noise,
    }
}

//! What the server spent: CPU time of every process of the strategy, split by program, and how
//! busy each server and client CPU was — sampled at the start and the end of a measured window,
//! never in the load loop.

use model::cpu::{CpuReport, ProgramCpu};
use procfs::{CurrentSI, KernelStats};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One process's CPU time so far, its exited children's included (so a worker that exits and is
/// reaped inside the window moves its time to its parent instead of vanishing).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProcTicks {
    program: String,
    user: i64,
    system: i64,
}

/// Everything read at one instant (a server host sends its two to the controller).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sample {
    procs: Vec<ProcTicks>,
    cpus: CpuTicks,
}

/// Per CPU, by position in /proc/stat (CPU number when all are online): (busy ticks, all ticks).
pub type CpuTicks = Vec<(u64, u64)>;

/// Every CPU's busy and total time so far, from /proc/stat: everything but idle and I/O wait
/// counts as busy, softirq and kernel threads included.
pub fn cpu_ticks() -> CpuTicks {
    KernelStats::current()
        .map(|k| {
            k.cpu_time
                .iter()
                .map(|t| {
                    let idle = t.idle + t.iowait.unwrap_or(0);
                    let all = t.user
                        + t.nice
                        + t.system
                        + idle
                        + t.irq.unwrap_or(0)
                        + t.softirq.unwrap_or(0)
                        + t.steal.unwrap_or(0);
                    (all - idle, all)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The busy share of each of `cpus` between two readings.
pub fn busy(start: &CpuTicks, end: &CpuTicks, cpus: &[usize]) -> BTreeMap<usize, f64> {
    cpus.iter()
        .filter_map(|&c| {
            let (b0, a0) = start.get(c)?;
            let (b1, a1) = end.get(c)?;
            let all = a1.saturating_sub(*a0).max(1);
            Some((c, b1.saturating_sub(*b0) as f64 / all as f64))
        })
        .collect()
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

/// Reads every process below `root` (zombies too: they still hold their time) and /proc/stat.
pub fn sample(root: i32) -> Sample {
    let procs = crate::procs::descendants_with_zombies(root)
        .into_iter()
        .filter_map(|pid| {
            let p = procfs::process::Process::new(pid).ok()?;
            let s = p.stat().ok()?;
            Some(ProcTicks {
                program: program(&p, &s),
                user: s.utime as i64 + s.cutime,
                system: s.stime as i64 + s.cstime,
            })
        })
        .collect();
    Sample {
        procs,
        cpus: cpu_ticks(),
    }
}

/// The window from `start` to `end`, `window_s` long, with `ok` 2xx responses.
pub fn account(start: &Sample, end: &Sample, window_s: f64, ok: u64, server_cpus: &[usize]) -> CpuReport {
    let tick = 1.0 / procfs::ticks_per_second() as f64;
    // Σ end − Σ start over the processes each sample saw: a process reaped inside the window is
    // in the start sum on its own and in the end sum inside its parent's children's time.
    let mut by_program: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (p, sign) in end
        .procs
        .iter()
        .map(|p| (p, 1))
        .chain(start.procs.iter().map(|p| (p, -1)))
    {
        let e = by_program.entry(p.program.clone()).or_default();
        e.0 += sign * p.user;
        e.1 += sign * p.system;
    }
    let (user, system) = by_program
        .values()
        .fold((0i64, 0i64), |(u, s), (pu, ps)| (u + pu, s + ps));
    let total = ((user + system).max(0)) as f64 * tick;
    let mut programs: Vec<ProgramCpu> = by_program
        .into_iter()
        .map(|(program, (u, s))| {
            let cpu_s = ((u + s).max(0)) as f64 * tick;
            ProgramCpu {
                program,
                cpu_s,
                share: if total > 0.0 { cpu_s / total } else { 0.0 },
            }
        })
        .filter(|p| p.cpu_s > 0.0)
        .collect();
    programs.sort_by(|a, b| b.cpu_s.total_cmp(&a.cpu_s));
    CpuReport {
        window_s,
        server_user_s: user.max(0) as f64 * tick,
        server_system_s: system.max(0) as f64 * tick,
        by_program: programs,
        server_cpu_us_per_request: if ok > 0 { total * 1e6 / ok as f64 } else { 0.0 },
        server_cpu_util: total / (server_cpus.len().max(1) as f64 * window_s.max(1e-9)),
        requests_per_cpu_second: if total > 0.0 { ok as f64 / total } else { 0.0 },
        server_cpus_busy: busy(&start.cpus, &end.cpus, server_cpus),
    }
}

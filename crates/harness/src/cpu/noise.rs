//! What the machine did to a window besides the load: the hypervisor's steal, and time on the
//! cell's CPUs that neither the strategy nor the client used (other processes, kernel threads).
//! And, before a sweep, the same of the idle machine ([`machine_check`]).

use lbproc::cpustat::{self, CpuTimes};
use model::noise::{MachineCheck, Noise};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The client, when it ran on this machine: its CPUs (its own work there is not other work).
pub struct Client<'a> {
    pub cpus: &'a [usize],
}

/// Another process at one instant: its ticks so far and the CPU it last ran on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Other {
    pid: i32,
    comm: String,
    ticks: u64,
    cpu: Option<usize>,
}

impl Other {
    pub fn of(s: &procfs::process::Stat) -> Other {
        Other {
            pid: s.pid,
            comm: s.comm.clone(),
            ticks: s.utime + s.stime,
            cpu: s.processor.and_then(|c| usize::try_from(c).ok()),
        }
    }

    /// The kernel threads that finish a CPU's network work when it has too much: the load's
    /// packets, not other work.
    fn is_network(&self) -> bool {
        self.comm.starts_with("ksoftirqd/")
    }
}

/// One edge of a window: every CPU's counters and every other process's ticks.
pub struct Edge<'a> {
    pub cpus: &'a [CpuTimes],
    pub others: &'a [Other],
}

/// What other processes spent on `cpus` between two samples, s, by name, most first: a process
/// counts where it ran last (at the end), one that started inside the window with all its time.
fn other_work(start: &Edge, end: &Edge, cpus: &[usize]) -> Vec<(String, f64)> {
    let tick = 1.0 / cpustat::ticks_per_second() as f64;
    let mut by_name: Vec<(String, f64)> = Vec::new();
    for e in end.others.iter().filter(|o| !o.is_network()) {
        if !e.cpu.is_some_and(|c| cpus.contains(&c)) {
            continue;
        }
        let before = start.others.iter().find(|s| s.pid == e.pid).map_or(0, |s| s.ticks);
        let used = e.ticks.saturating_sub(before) as f64 * tick;
        if used > 0.0 {
            match by_name.iter_mut().find(|(n, _)| *n == e.comm) {
                Some((_, t)) => *t += used,
                None => by_name.push((e.comm.clone(), used)),
            }
        }
    }
    by_name.sort_by(|a, b| b.1.total_cmp(&a.1));
    by_name
}

/// Summed over `cpus`: (steal, everything but idle and steal, everything) ticks of the window.
fn ticks(start: &[CpuTimes], end: &[CpuTimes], cpus: &[usize]) -> (u64, u64, u64) {
    let find = |t: &[CpuTimes], c: usize| t.iter().find(|x| x.cpu == c).copied();
    cpus.iter()
        .filter_map(|&c| Some(find(end, c)?.since(&find(start, c)?)))
        .fold((0, 0, 0), |(s, b, a), d| {
            (s + d.steal, b + d.total() - d.idle_all() - d.steal, a + d.total())
        })
}

/// The window's noise; `involuntary` is the strategy's preemptions in it.
///
/// Other work is the other processes' time on these CPUs, counted process by process (kernel
/// threads among them, the network's `ksoftirqd` not): a CPU's busy time minus the measured
/// processes' would also count the network's work done outside any process (softirq on an idle
/// CPU), which is the load's own.
pub fn of_window(start: &Edge, end: &Edge, server_cpus: &[usize], client: Option<&Client>, involuntary: u64) -> Noise {
    let tick = 1.0 / cpustat::ticks_per_second() as f64;
    let share = |part: u64, all: u64| if all > 0 { part as f64 / all as f64 } else { 0.0 };
    let (steal, _, all) = ticks(start.cpus, end.cpus, server_cpus);
    let server_steal = share(steal, all);
    let client_cpus = client.map_or(&[][..], |c| c.cpus);
    let (c_steal, _, c_all) = ticks(start.cpus, end.cpus, client_cpus);
    let c_time = ((c_all - c_steal) as f64 * tick).max(1e-9);
    let c_other: f64 = other_work(start, end, client_cpus).iter().map(|(_, s)| s).sum();
    let mut cpus: Vec<usize> = server_cpus.iter().chain(client_cpus).copied().collect();
    cpus.sort_unstable();
    cpus.dedup();
    let (steal, _, all) = ticks(start.cpus, end.cpus, &cpus);
    let time = ((all - steal) as f64 * tick).max(1e-9);
    let others = other_work(start, end, &cpus);
    let other: f64 = others.iter().map(|(_, s)| s).sum();
    Noise {
        server_steal,
        client_steal: share(c_steal, c_all),
        interference: (other / time).clamp(0.0, 1.0),
        client_interference: (c_other / c_time).clamp(0.0, 1.0),
        busiest: others.into_iter().take(3).map(|(n, s)| (n, s / time)).collect(),
        involuntary_switches: involuntary,
        // /proc counts in ticks: one at each edge of each CPU.
        resolution: (2 * cpus.len()) as f64 / all.max(1) as f64,
        redone: Vec::new(),
    }
}

/// Every process's ticks so far, by pid, with its name.
fn process_ticks() -> BTreeMap<i32, (String, u64)> {
    let Ok(all) = procfs::process::all_processes() else {
        return BTreeMap::new();
    };
    all.flatten()
        .filter_map(|p| {
            let s = p.stat().ok()?;
            Some((s.pid, (s.comm.clone(), s.utime + s.stime)))
        })
        .collect()
}

/// A one-line value of a sysfs file, if it has one.
fn sysfs(path: &str) -> Option<String> {
    Some(std::fs::read_to_string(path).ok()?.trim().to_string())
}

/// Steal or other work above this share of the CPUs' time hides differences of 5 %: a window's
/// noise lands on one side of a comparison.
const TOO_NOISY: f64 = 0.025;

/// Watches the idle machine for `over` (in four parts: steal comes in bursts) and says what it
/// means for rankings. lbbench itself does nothing meanwhile.
pub fn machine_check(over: Duration) -> MachineCheck {
    let me = std::process::id() as i32;
    let (procs0, first) = (process_ticks(), cpustat::read());
    let mut marks = vec![first.clone()];
    for _ in 0..4 {
        std::thread::sleep(over / 4);
        marks.push(cpustat::read());
    }
    let procs1 = process_ticks();
    let last = marks.last().cloned().unwrap_or_default();
    let every: Vec<usize> = last.iter().map(|t| t.cpu).collect();
    let share = |a: &[CpuTimes], b: &[CpuTimes]| {
        let (steal, busy, all) = ticks(a, b, &every);
        let s = if all > 0 { steal as f64 / all as f64 } else { 0.0 };
        let u = if all > steal {
            busy as f64 / (all - steal) as f64
        } else {
            0.0
        };
        (s, u)
    };
    let (steal, busy) = share(&first, &last);
    let steal_worst = marks.windows(2).map(|w| share(&w[0], &w[1]).0).fold(0.0, f64::max);
    let tps = cpustat::ticks_per_second() as f64;
    let mut busiest: Vec<(String, f64)> = procs1
        .iter()
        .filter(|(pid, _)| **pid != me)
        .filter_map(|(pid, (name, t))| {
            let used = t.saturating_sub(procs0.get(pid).map_or(0, |p| p.1));
            (used > 0).then(|| (name.clone(), used as f64 / tps / over.as_secs_f64()))
        })
        .collect();
    busiest.sort_by(|a, b| b.1.total_cmp(&a.1));
    busiest.truncate(3);
    let mut settings = BTreeMap::new();
    let cpu = "/sys/devices/system/cpu";
    for (key, path) in [
        ("governor", format!("{cpu}/cpu0/cpufreq/scaling_governor")),
        ("idle driver", format!("{cpu}/cpuidle/current_driver")),
        ("SMT", format!("{cpu}/smt/active")),
    ] {
        if let Some(v) = sysfs(&path) {
            let v = if key == "SMT" {
                if v == "1" { "on" } else { "off" }.to_string()
            } else {
                v
            };
            settings.insert(key.to_string(), v);
        }
    }
    let noisy = steal.max(steal_worst / 2.0) > TOO_NOISY || busy > TOO_NOISY;
    let verdict = judge(steal, steal_worst, busy, &busiest, &settings, noisy);
    MachineCheck {
        seconds: over.as_secs_f64(),
        steal,
        steal_worst,
        busy,
        busiest,
        settings,
        noisy,
        verdict,
    }
}

/// The machine check's sentence: what was seen, whether 5 % can be ranked, what would help.
fn judge(
    steal: f64,
    worst: f64,
    busy: f64,
    busiest: &[(String, f64)],
    settings: &BTreeMap<String, String>,
    noisy: bool,
) -> String {
    let pct = |v: f64| format!("{:.1} %", v * 100.0);
    let mut s = format!(
        "steal {} of the CPUs' time (worst quarter {}), other work {}",
        pct(steal),
        pct(worst),
        pct(busy)
    );
    if !noisy {
        s += ": quiet enough to rank strategies within 5 % of each other";
        return s;
    }
    s += ": too noisy to rank strategies within 5 % from single windows. Spoiled windows are \
          measured again and more rounds are needed for each call. What would help: ";
    let mut help = Vec::new();
    if busy > TOO_NOISY {
        let names: Vec<String> = busiest
            .iter()
            .map(|(n, u)| format!("{n} ({} of a CPU)", pct(*u)))
            .collect();
        help.push(format!("stopping what else runs ({})", names.join(", ")));
    }
    if steal.max(worst / 2.0) > TOO_NOISY {
        help.push("a machine whose CPUs are not shared with other guests (a dedicated host or bare metal)".into());
    }
    if settings.get("governor").is_some_and(|g| g != "performance") {
        help.push("the `performance` CPU frequency governor".into());
    }
    help.push("a longer `[sweep] budget` (more rounds)".into());
    s + &help.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(cpu: usize, busy: u64, idle: u64, steal: u64) -> CpuTimes {
        CpuTimes {
            cpu,
            user: busy,
            idle,
            steal,
            ..CpuTimes::default()
        }
    }

    fn other(pid: i32, comm: &str, ticks: u64, cpu: usize) -> Other {
        Other {
            pid,
            comm: comm.into(),
            ticks,
            cpu: Some(cpu),
        }
    }

    #[test]
    fn the_client_cpus_noise_is_their_own() {
        // Over 100 ticks a CPU: a process took 20 ticks of the client's CPU 1 and the
        // hypervisor 10 of them; another took 10 of the server's CPU 0.
        let start_cpus = [cpu(0, 0, 0, 0), cpu(1, 0, 0, 0)];
        let end_cpus = [cpu(0, 60, 40, 0), cpu(1, 50, 40, 10)];
        let start_others = [other(7, "backup", 0, 1)];
        let end_others = [
            other(7, "backup", 20, 1),
            other(8, "ksoftirqd/1", 30, 1),
            other(9, "cron", 10, 0),
        ];
        let start = Edge {
            cpus: &start_cpus,
            others: &start_others,
        };
        let end = Edge {
            cpus: &end_cpus,
            others: &end_others,
        };
        let n = of_window(&start, &end, &[0], Some(&Client { cpus: &[1] }), 0);
        assert_eq!(n.server_steal, 0.0);
        assert!((n.client_steal - 0.1).abs() < 1e-9, "{n:?}");
        // 20 of the client CPU's 90 ticks not stolen; the network's kernel thread is the load's.
        assert!((n.client_interference - 20.0 / 90.0).abs() < 1e-9, "{n:?}");
        // Over both CPUs: 30 of 190.
        assert!((n.interference - 30.0 / 190.0).abs() < 1e-9, "{n:?}");
        let alone = of_window(&start, &end, &[0], None, 0);
        assert_eq!(alone.client_interference, 0.0);
        assert!((alone.interference - 0.1).abs() < 1e-9, "{alone:?}");
    }
}

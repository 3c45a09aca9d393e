//! What the machine did to a window besides the load: the hypervisor's steal, and time on the
//! cell's CPUs that neither the strategy nor the client used (other processes, kernel threads).
//! And, before a sweep, the same of the idle machine ([`machine_check`]).

use super::Sample;
use lbproc::cpustat::{self, CpuTimes};
use model::noise::{MachineCheck, Noise};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

/// The client, when it ran on this machine: its CPUs and its threads' time over the window.
pub struct Client<'a> {
    pub cpus: &'a [usize],
    pub cpu_s: f64,
}

/// `ksoftirqd/N` of every CPU: (CPU, pid), found once (kernel threads live as long as the boot).
fn softirq_pids() -> &'static [(usize, i32)] {
    static PIDS: OnceLock<Vec<(usize, i32)>> = OnceLock::new();
    PIDS.get_or_init(|| {
        let Ok(all) = procfs::process::all_processes() else {
            return Vec::new();
        };
        all.flatten()
            .filter_map(|p| {
                let s = p.stat().ok()?;
                let cpu = s.comm.strip_prefix("ksoftirqd/")?.parse().ok()?;
                Some((cpu, s.pid))
            })
            .collect()
    })
}

/// Every `ksoftirqd/N`'s time so far, ns.
pub fn softirq_threads() -> Vec<(usize, u64)> {
    softirq_pids()
        .iter()
        .filter_map(|&(cpu, pid)| {
            let text = std::fs::read_to_string(format!("/proc/{pid}/schedstat")).ok()?;
            Some((cpu, text.split_ascii_whitespace().next()?.parse().ok()?))
        })
        .collect()
}

/// This thread's CPU time so far, ns.
pub fn thread_ns() -> u64 {
    clock(libc::CLOCK_THREAD_CPUTIME_ID)
}

fn clock(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(id, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
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

/// The window's noise. `server_s` is the strategy's CPU time in it, `involuntary` its preemptions.
pub fn of_window(
    start: &Sample,
    end: &Sample,
    server_cpus: &[usize],
    client: Option<&Client>,
    server_s: f64,
    involuntary: u64,
) -> Noise {
    let tick = 1.0 / cpustat::ticks_per_second() as f64;
    let share = |part: u64, all: u64| if all > 0 { part as f64 / all as f64 } else { 0.0 };
    let (steal, _, all) = ticks(&start.cpus, &end.cpus, server_cpus);
    let server_steal = share(steal, all);
    let client_cpus = client.map_or(&[][..], |c| c.cpus);
    let (c_steal, _, c_all) = ticks(&start.cpus, &end.cpus, client_cpus);
    let mut cpus: Vec<usize> = server_cpus.iter().chain(client_cpus).copied().collect();
    cpus.sort_unstable();
    cpus.dedup();
    let (steal, busy, all) = ticks(&start.cpus, &end.cpus, &cpus);
    let (busy, time) = (busy as f64 * tick, (all - steal) as f64 * tick);
    let softirq: u64 = end
        .softirq_threads
        .iter()
        .filter(|(cpu, _)| cpus.contains(cpu))
        .filter_map(|(cpu, ns)| {
            let before = start.softirq_threads.iter().find(|(c, _)| c == cpu)?.1;
            Some(ns.saturating_sub(before))
        })
        .sum();
    let own = start.own_ns as f64 / 1e9;
    let other = busy - server_s - client.map_or(0.0, |c| c.cpu_s) - softirq as f64 / 1e9 - own;
    Noise {
        server_steal,
        client_steal: share(c_steal, c_all),
        interference: (other / time.max(1e-9)).clamp(0.0, 1.0),
        involuntary_switches: involuntary,
        // /proc/stat counts in ticks: one at each edge of each CPU.
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

//! Every CPU's time so far, from /proc/stat: what the instrument reads of its own CPUs and the
//! harness of the server's, at the edges of a window (never in a load loop).

/// One CPU's times, in clock ticks (`ticks_per_second` of them a second).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CpuTimes {
    /// The CPU's number (`cpuN`).
    pub cpu: usize,
    pub user: u64,
    pub nice: u64,
    pub system: u64,
    pub idle: u64,
    pub iowait: u64,
    pub irq: u64,
    pub softirq: u64,
    /// Taken by the hypervisor for other guests while this CPU had work (0 on bare metal).
    pub steal: u64,
}

impl CpuTimes {
    /// Every tick accounted to this CPU.
    pub fn total(&self) -> u64 {
        self.user + self.nice + self.system + self.idle + self.iowait + self.irq + self.softirq + self.steal
    }

    /// Ticks it had nothing to run (idle, or waiting for I/O).
    pub fn idle_all(&self) -> u64 {
        self.idle + self.iowait
    }

    /// The ticks between `earlier` and this reading.
    pub fn since(&self, earlier: &CpuTimes) -> CpuTimes {
        let d = |a: u64, b: u64| a.saturating_sub(b);
        CpuTimes {
            cpu: self.cpu,
            user: d(self.user, earlier.user),
            nice: d(self.nice, earlier.nice),
            system: d(self.system, earlier.system),
            idle: d(self.idle, earlier.idle),
            iowait: d(self.iowait, earlier.iowait),
            irq: d(self.irq, earlier.irq),
            softirq: d(self.softirq, earlier.softirq),
            steal: d(self.steal, earlier.steal),
        }
    }
}

/// The busy share of each of `cpus` between two readings, of the time the CPU was this guest's:
/// everything but idle and I/O wait counts as busy, softirq and kernel threads included, and the
/// hypervisor's steal counts as neither (a CPU whose third was stolen is not a saturated one).
pub fn busy_shares(start: &[CpuTimes], end: &[CpuTimes], cpus: &[usize]) -> std::collections::BTreeMap<usize, f64> {
    let find = |times: &[CpuTimes], cpu: usize| times.iter().find(|t| t.cpu == cpu).copied();
    cpus.iter()
        .filter_map(|&c| {
            let d = find(end, c)?.since(&find(start, c)?);
            let mine = (d.total() - d.steal).max(1);
            Some((c, (d.total() - d.idle_all() - d.steal) as f64 / mine as f64))
        })
        .collect()
}

/// Every online CPU's times now (empty when /proc/stat cannot be read).
pub fn read() -> Vec<CpuTimes> {
    std::fs::read_to_string("/proc/stat")
        .map(|text| parse(&text))
        .unwrap_or_default()
}

/// The `cpuN` lines of /proc/stat's text (the aggregate `cpu` line is skipped).
pub fn parse(text: &str) -> Vec<CpuTimes> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_ascii_whitespace();
            let cpu = words.next()?.strip_prefix("cpu")?.parse().ok()?;
            let mut n = words.map(|w| w.parse::<u64>().unwrap_or(0));
            let mut next = || n.next().unwrap_or(0);
            Some(CpuTimes {
                cpu,
                user: next(),
                nice: next(),
                system: next(),
                idle: next(),
                iowait: next(),
                irq: next(),
                softirq: next(),
                steal: next(),
            })
        })
        .collect()
}

/// Clock ticks per second, as /proc counts CPU time.
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a system constant.
    match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        t if t > 0 => t as u64,
        _ => 100,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lines_are_read_by_number_and_the_aggregate_skipped() {
        let text = "cpu  10 0 5 100 1 0 2 3 0 0\ncpu0 4 0 2 50 1 0 1 2 0 0\ncpu2 6 0 3 50 0 0 1 1 0 0\nintr 5\n";
        let cpus = parse(text);
        assert_eq!(cpus.iter().map(|c| c.cpu).collect::<Vec<_>>(), [0, 2]);
        assert_eq!((cpus[0].total(), cpus[0].idle_all(), cpus[0].steal), (60, 51, 2));
        let later = CpuTimes { user: 14, ..cpus[0] };
        assert_eq!(later.since(&cpus[0]).total(), 10);
        // 10 ticks: 4 busy, 2 stolen, 4 idle: busy 4 of the guest's 8.
        let end = CpuTimes {
            user: cpus[0].user + 4,
            steal: cpus[0].steal + 2,
            idle: cpus[0].idle + 4,
            ..cpus[0]
        };
        assert_eq!(busy_shares(&cpus, &[end], &[0])[&0], 0.5);
        assert!(!read().is_empty(), "this machine's /proc/stat");
    }
}

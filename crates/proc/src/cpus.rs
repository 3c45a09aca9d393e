//! CPU lists ("0-2,5") and pinning.

use anyhow::{bail, Context, Result};
use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// Parses a CPU list such as "0-2,5" into sorted, distinct CPU numbers.
pub fn parse_cpus(list: &str) -> Result<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || format!("bad CPU list {list:?}: expected e.g. \"0\", \"0-3\" or \"0,2\"");
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (usize, usize) = (a.parse().with_context(bad)?, b.parse().with_context(bad)?);
                if a > b {
                    bail!(bad());
                }
                cpus.extend(a..=b);
            }
            None => cpus.push(part.parse().with_context(bad)?),
        }
    }
    if cpus.is_empty() {
        bail!("empty CPU list: give at least one CPU, e.g. \"0\"");
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Formats CPUs the way `parse_cpus` reads them.
pub fn format_cpus(cpus: &[usize]) -> String {
    cpus.iter().map(|c| c.to_string()).collect::<Vec<_>>().join(",")
}

/// The affinity mask of `cpus`.
pub fn cpu_set(cpus: &[usize]) -> Result<CpuSet> {
    let mut set = CpuSet::new();
    for &c in cpus {
        set.set(c).with_context(|| format!("CPU {c} is out of range"))?;
    }
    Ok(set)
}

/// Pins the calling thread (and so every process it forks later) to `cpus`.
pub fn pin(cpus: &[usize]) -> Result<()> {
    sched_setaffinity(Pid::from_raw(0), &cpu_set(cpus)?)
        .with_context(|| format!("cannot pin to CPUs {cpus:?}: are they online and allowed?"))
}

/// The CPUs this process may run on, ascending.
pub fn allowed() -> Vec<usize> {
    match nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        Ok(set) => (0..nix::sched::CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .collect(),
        Err(_) => (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpus("0").unwrap(), vec![0]);
        assert_eq!(parse_cpus("3,0-2,2").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(format_cpus(&[0, 2]), "0,2");
        assert!(!allowed().is_empty());
        for bad in ["", "a", "2-1", "1-"] {
            assert!(parse_cpus(bad).is_err(), "{bad:?} should be refused");
        }
    }
}

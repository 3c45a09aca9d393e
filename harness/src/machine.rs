//! What machine the numbers came from.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Machine {
    pub kernel: String,
    pub cpu_model: String,
    /// CPUs this process may run on.
    pub cpus: usize,
}

impl Machine {
    pub fn detect() -> Machine {
        let kernel = nix::sys::utsname::uname()
            .map(|u| u.release().to_string_lossy().into_owned())
            .unwrap_or_else(|_| "unknown".into());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|t| {
                t.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        Machine {
            kernel,
            cpu_model,
            cpus: allowed_cpus().len(),
        }
    }
}

/// The CPUs this process may run on, ascending.
pub fn allowed_cpus() -> Vec<usize> {
    match nix::sched::sched_getaffinity(nix::unistd::Pid::from_raw(0)) {
        Ok(set) => (0..nix::sched::CpuSet::count())
            .filter(|&c| set.is_set(c).unwrap_or(false))
            .collect(),
        Err(_) => (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect(),
    }
}

/// Splits the CPUs: the first `cores` serve; the client gets the rest, or shares them all when none are left.
pub fn split_cpus(allowed: &[usize], cores: usize) -> Option<(Vec<usize>, Vec<usize>)> {
    if cores == 0 || cores > allowed.len() {
        return None;
    }
    let (server, rest) = allowed.split_at(cores);
    let client = if rest.is_empty() {
        allowed.to_vec()
    } else {
        rest.to_vec()
    };
    Some((server.to_vec(), client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_gets_the_rest_or_shares() {
        assert_eq!(split_cpus(&[0, 1, 2, 3], 1), Some((vec![0], vec![1, 2, 3])));
        assert_eq!(split_cpus(&[0, 1], 2), Some((vec![0, 1], vec![0, 1])));
        assert_eq!(split_cpus(&[0, 1], 3), None);
    }
}

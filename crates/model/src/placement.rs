//! Where a sweep put its server and its client: the CPUs with their core and node.

use crate::config::Smt;
use serde::{Deserialize, Serialize};

/// A CPU and where it sits.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PlacedCpu {
    pub cpu: usize,
    /// Socket (`physical_package_id`).
    pub package: i32,
    /// `core_id`, unique within its package.
    pub core: u32,
    /// NUMA node.
    pub node: usize,
}

/// A cell's CPUs with their core and node.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CellPlacement {
    pub server: Vec<PlacedCpu>,
    pub client: Vec<PlacedCpu>,
}

/// `topology` in results.json: the machine's CPUs as lbbench saw them and where the sweep ran.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TopologyRecord {
    /// Physical cores lbbench may use.
    pub cores: usize,
    /// Hardware threads (CPUs) lbbench may use.
    pub threads: usize,
    /// The most threads of one core lbbench may use (1: no SMT, or siblings outside its reach).
    pub threads_per_core: usize,
    pub packages: usize,
    pub nodes: usize,
    pub smt: Smt,
    /// Every CPU lbbench may use.
    pub cpus: Vec<PlacedCpu>,
    /// The client's CPUs, the same in every cell.
    pub client_cpus: Vec<PlacedCpu>,
    /// The client's threads, the same in every cell.
    pub client_threads: usize,
    /// The client and every server of the sweep were on one NUMA node.
    pub same_node: bool,
    /// `scaling_governor` of the CPUs used (distinct values joined by ", "), when exposed.
    pub governor: Option<String>,
    /// Turbo/boost on, when the machine says.
    pub turbo: Option<bool>,
    /// What the sweep could not have as it should (shared CPUs, nodes apart, foreign siblings).
    pub notes: Vec<String>,
}

/// "0-3,8-11": ascending numbers with runs collapsed, as sysfs writes them.
pub fn ranges(numbers: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let mut j = i;
        while j + 1 < numbers.len() && numbers[j + 1] == numbers[j] + 1 {
            j += 1;
        }
        parts.push(match j - i {
            0 => numbers[i].to_string(),
            1 => format!("{},{}", numbers[i], numbers[j]),
            _ => format!("{}-{}", numbers[i], numbers[j]),
        });
        i = j + 1;
    }
    parts.join(",")
}

/// "CPU 1", "CPUs 0-3".
pub fn cpu_list(cpus: &[usize]) -> String {
    format!("CPU{} {}", if cpus.len() == 1 { "" } else { "s" }, ranges(cpus))
}

#[cfg(test)]
mod tests {
    #[test]
    fn lists_collapse_runs() {
        assert_eq!(super::ranges(&[0, 1, 2, 3, 8, 9, 10, 11]), "0-3,8-11");
        assert_eq!(super::ranges(&[0, 1, 5]), "0,1,5");
        assert_eq!(super::cpu_list(&[7]), "CPU 7");
    }
}

//! The topology as sysfs describes it: every CPU with its package, core, siblings and node.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where Linux describes CPUs and NUMA nodes.
pub const SYSFS: &str = "/sys/devices/system";

/// One hardware thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cpu {
    pub cpu: usize,
    /// `physical_package_id`: the socket (-1 where the platform does not say).
    pub package: i32,
    /// `core_id`: unique within a package only.
    pub core: u32,
    pub node: usize,
    /// Every thread of this CPU's physical core, itself included, ascending.
    pub siblings: Vec<usize>,
    /// `cpufreq/scaling_governor`, when exposed.
    pub governor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Online CPUs, ascending.
    pub cpus: Vec<Cpu>,
    /// Whether turbo/boost is on, when the machine says (`intel_pstate/no_turbo`, `cpufreq/boost`).
    pub turbo: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error("cannot read {}: is sysfs mounted?", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("unexpected contents in {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
}

impl Topology {
    /// Reads the topology below `sys` (normally [`SYSFS`]; tests pass fixture trees). Files a
    /// kernel may lack default to "every CPU its own core, all on node 0".
    pub fn read(sys: &Path) -> Result<Topology, TopologyError> {
        let online = sys.join("cpu/online");
        let numbers = parse_list(&online, &read(&online)?)?;
        let nodes = node_of_each_cpu(sys)?;
        let mut cpus = Vec::new();
        for cpu in numbers {
            let dir = sys.join(format!("cpu/cpu{cpu}"));
            let siblings = match optional(&dir.join("topology/thread_siblings_list"))? {
                Some((path, text)) => parse_list(&path, &text)?,
                None => vec![cpu],
            };
            cpus.push(Cpu {
                cpu,
                package: number(&dir.join("topology/physical_package_id"))?.unwrap_or(0),
                core: number(&dir.join("topology/core_id"))?.unwrap_or(cpu as u32),
                node: nodes.get(&cpu).copied().unwrap_or(0),
                siblings,
                governor: optional(&dir.join("cpufreq/scaling_governor"))?.map(|(_, g)| g),
            });
        }
        Ok(Topology {
            cpus,
            turbo: turbo(sys)?,
        })
    }

    /// A machine about which nothing is known but its CPU numbers: each its own core, one node.
    pub fn flat(cpus: &[usize]) -> Topology {
        Topology {
            cpus: cpus
                .iter()
                .map(|&cpu| Cpu {
                    cpu,
                    package: 0,
                    core: cpu as u32,
                    node: 0,
                    siblings: vec![cpu],
                    governor: None,
                })
                .collect(),
            turbo: None,
        }
    }

    pub fn cpu(&self, cpu: usize) -> Option<&Cpu> {
        self.cpus.iter().find(|c| c.cpu == cpu)
    }
}

fn read(path: &Path) -> Result<String, TopologyError> {
    std::fs::read_to_string(path)
        .map(|t| t.trim().to_string())
        .map_err(|source| TopologyError::Read {
            path: path.into(),
            source,
        })
}

/// The trimmed contents of a file that may be absent.
fn optional(path: &Path) -> Result<Option<(PathBuf, String)>, TopologyError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some((path.into(), t.trim().to_string()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TopologyError::Read {
            path: path.into(),
            source,
        }),
    }
}

fn number<T: std::str::FromStr>(path: &Path) -> Result<Option<T>, TopologyError> {
    optional(path)?
        .map(|(path, text)| {
            text.parse().map_err(|_| TopologyError::Parse {
                path,
                message: format!("expected a number, found {text:?}"),
            })
        })
        .transpose()
}

/// "0-3,8-11" as CPU numbers; an empty list (a node with memory only) is no CPUs.
fn parse_list(path: &Path, text: &str) -> Result<Vec<usize>, TopologyError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    lbproc::parse_cpus(text).map_err(|e| TopologyError::Parse {
        path: path.into(),
        message: format!("{e:#}"),
    })
}

/// CPU → NUMA node, from `node/node<N>/cpulist`; empty when the kernel has no NUMA directory.
fn node_of_each_cpu(sys: &Path) -> Result<BTreeMap<usize, usize>, TopologyError> {
    let dir = sys.join("node");
    let mut map = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(map);
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(node) = name.strip_prefix("node").and_then(|n| n.parse::<usize>().ok()) else {
            continue;
        };
        let path = entry.path().join("cpulist");
        for cpu in parse_list(&path, &read(&path)?)? {
            map.insert(cpu, node);
        }
    }
    Ok(map)
}

fn turbo(sys: &Path) -> Result<Option<bool>, TopologyError> {
    if let Some(no_turbo) = number::<u8>(&sys.join("cpu/intel_pstate/no_turbo"))? {
        return Ok(Some(no_turbo == 0));
    }
    Ok(number::<u8>(&sys.join("cpu/cpufreq/boost"))?.map(|b| b == 1))
}

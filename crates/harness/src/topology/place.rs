//! Where a sweep's server and client run, decided once before any cell.
//!
//! Rules: a server budget of N cores is the first N physical cores of a fixed order (so a bigger
//! budget contains the smaller ones); with `sweep.smt = "one-thread"` it gets one thread of each,
//! with `"all-threads"` all of them. The sibling threads of a server core are never the client's.
//! The client gets every thread of the cores the largest budget leaves free, and keeps them for
//! the whole sweep. Both sit on one NUMA node when a node has room for the largest server and a
//! client core; otherwise the notes say where they are.

use super::sysfs::Topology;
use model::config::{Smt, SweepConfig};
use model::placement::{cpu_list, ranges};
use std::collections::BTreeMap;

/// A physical core: the CPUs of it lbbench may use, ascending.
#[derive(Debug, Clone)]
struct Core {
    cpus: Vec<usize>,
    node: usize,
}

#[derive(Debug, Clone)]
pub struct Placement {
    pub(super) smt: Smt,
    pub(super) topology: Topology,
    /// The CPUs lbbench may use (online and in its affinity mask), ascending.
    pub(super) allowed: Vec<usize>,
    /// Physical cores with at least one allowed CPU.
    pub(super) cores: usize,
    /// (server cores, their CPUs) for every budget of the sweep, ascending.
    pub(super) servers: Vec<(usize, Vec<usize>)>,
    pub(super) client: Vec<usize>,
    /// What the sweep could not have as it should: shared CPUs, nodes apart, foreign siblings.
    pub(super) notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlacementError {
    #[error("none of the CPUs lbbench may run on ({allowed:?}) is online")]
    NoCpus { allowed: Vec<usize> },
    #[error(
        "sweep.cores goes up to {wanted} physical cores, but lbbench may use {have} here \
         (their CPUs: {layout}). Lower sweep.cores to at most {have} (e.g. configs/quick.toml), or run \
         on a machine with at least {needed} physical cores: {wanted} for the server, one or more for the client"
    )]
    TooFewCores {
        wanted: usize,
        have: usize,
        layout: String,
        needed: usize,
    },
}

impl Placement {
    /// Places `sweep` on `topology`, using only the CPUs in `allowed` (the affinity mask).
    pub fn plan(topology: Topology, allowed: &[usize], sweep: &SweepConfig) -> Result<Placement, PlacementError> {
        let allowed: Vec<usize> = topology
            .cpus
            .iter()
            .map(|c| c.cpu)
            .filter(|c| allowed.contains(c))
            .collect();
        let cores = physical_cores(&topology, &allowed);
        if cores.is_empty() {
            return Err(PlacementError::NoCpus { allowed });
        }
        let wanted = sweep.cores.iter().copied().max().unwrap_or(1);
        if wanted > cores.len() {
            return Err(PlacementError::TooFewCores {
                wanted,
                have: cores.len(),
                layout: cores
                    .iter()
                    .map(|c| format!("[{}]", lbproc::format_cpus(&c.cpus)))
                    .collect::<Vec<_>>()
                    .join(" "),
                needed: wanted + 1,
            });
        }
        let (order, pool) = order_cores(cores, wanted);
        // The client starts after the largest budget that leaves a core of the pool free.
        let start = if wanted < pool {
            wanted
        } else {
            sweep
                .cores
                .iter()
                .copied()
                .filter(|&n| n < pool)
                .max()
                .unwrap_or(pool - 1)
        };
        let mut client: Vec<usize> = order[start..pool].iter().flat_map(|c| c.cpus.clone()).collect();
        client.sort_unstable();
        let mut budgets = sweep.cores.clone();
        budgets.sort_unstable();
        budgets.dedup();
        let servers = budgets
            .iter()
            .map(|&n| {
                let mut cpus: Vec<usize> = order[..n]
                    .iter()
                    .flat_map(|c| match sweep.smt {
                        Smt::OneThread => c.cpus[..1].to_vec(),
                        Smt::AllThreads => c.cpus.clone(),
                    })
                    .collect();
                cpus.sort_unstable();
                (n, cpus)
            })
            .collect();
        let mut placement = Placement {
            smt: sweep.smt,
            topology,
            allowed,
            cores: order.len(),
            servers,
            client,
            notes: Vec::new(),
        };
        placement.notes = placement.findings(&order[..wanted]);
        Ok(placement)
    }

    /// The server's CPUs at a budget of `cores` (one of the sweep's).
    pub fn server(&self, cores: usize) -> Option<&[usize]> {
        self.servers
            .iter()
            .find(|(n, _)| *n == cores)
            .map(|(_, c)| c.as_slice())
    }

    /// The client's CPUs, the same in every cell.
    pub fn client(&self) -> &[usize] {
        &self.client
    }

    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The NUMA nodes of `cpus`, ascending.
    pub(super) fn nodes_of(&self, cpus: &[usize]) -> Vec<usize> {
        let mut nodes: Vec<usize> = cpus
            .iter()
            .filter_map(|&c| self.topology.cpu(c))
            .map(|c| c.node)
            .collect();
        nodes.sort_unstable();
        nodes.dedup();
        nodes
    }

    /// Whether the client and every server of the sweep sit on one NUMA node.
    pub fn same_node(&self) -> bool {
        let mut all = self.client.clone();
        all.extend(self.servers.iter().flat_map(|(_, c)| c.iter().copied()));
        self.nodes_of(&all).len() <= 1
    }

    fn findings(&self, largest_server: &[Core]) -> Vec<String> {
        let mut notes = Vec::new();
        for (n, cpus) in &self.servers {
            let shared: Vec<usize> = cpus.iter().copied().filter(|c| self.client.contains(c)).collect();
            if !shared.is_empty() {
                notes.push(format!(
                    "at {} the server shares {} with the client: lbbench may use {} physical cores and \
                     the client keeps its CPUs for the whole sweep; those points are hollow in the plots, \
                     not comparable with the others",
                    cores(*n),
                    cpu_list(&shared),
                    self.cores
                ));
            }
        }
        let client_nodes = self.nodes_of(&self.client);
        let (mut apart, mut apart_nodes) = (Vec::new(), Vec::new());
        for (n, cpus) in &self.servers {
            let nodes = self.nodes_of(cpus);
            if nodes.len() > 1 {
                notes.push(format!(
                    "at {} the server spans NUMA nodes {}",
                    cores(*n),
                    ranges(&nodes)
                ));
            } else if nodes != client_nodes {
                apart.push(n.to_string());
                apart_nodes.extend(nodes);
            }
        }
        if !apart.is_empty() {
            apart_nodes.sort_unstable();
            apart_nodes.dedup();
            notes.push(format!(
                "the client is on NUMA node {}, the server at {} cores on node {}: no node has room for \
                 the largest server and a client core, so requests cross nodes",
                ranges(&client_nodes),
                apart.join(", "),
                ranges(&apart_nodes)
            ));
        }
        // Threads of the server's cores that lbbench may not use may run anything at all.
        let foreign: Vec<usize> = largest_server
            .iter()
            .filter_map(|c| self.topology.cpu(c.cpus[0]))
            .flat_map(|c| c.siblings.iter().copied())
            .filter(|s| !self.allowed.contains(s))
            .collect();
        if !foreign.is_empty() {
            notes.push(format!(
                "server cores have SMT siblings outside lbbench's CPU affinity ({}): whatever runs there \
                 shares the server's cores",
                cpu_list(&foreign)
            ));
        }
        notes
    }
}

/// "1 core", "4 cores".
pub(super) fn cores(n: usize) -> String {
    format!("{n} core{}", if n == 1 { "" } else { "s" })
}

/// Groups the allowed CPUs by physical core (their SMT siblings), ordered by lowest CPU number.
fn physical_cores(topology: &Topology, allowed: &[usize]) -> Vec<Core> {
    let mut cores: Vec<Core> = Vec::new();
    for &cpu in allowed {
        let info = topology.cpu(cpu).expect("allowed CPUs are taken from the topology");
        match cores.iter_mut().find(|c| info.siblings.contains(&c.cpus[0])) {
            Some(core) => core.cpus.push(cpu),
            None => cores.push(Core {
                cpus: vec![cpu],
                node: info.node,
            }),
        }
    }
    cores
}

/// The cores in placement order, and how many of the first ones the client may come from: the
/// first node with room for `wanted` server cores and a client core goes first and alone is the
/// pool; otherwise a node that holds the whole server goes first and the pool is every core.
fn order_cores(cores: Vec<Core>, wanted: usize) -> (Vec<Core>, usize) {
    let mut by_node: BTreeMap<usize, Vec<Core>> = BTreeMap::new();
    for c in cores {
        by_node.entry(c.node).or_default().push(c);
    }
    let total: usize = by_node.values().map(Vec::len).sum();
    let roomy = by_node.iter().find(|(_, c)| c.len() > wanted).map(|(n, _)| *n);
    let first = roomy.or_else(|| by_node.iter().find(|(_, c)| c.len() >= wanted).map(|(n, _)| *n));
    let mut order = first.and_then(|n| by_node.remove(&n)).unwrap_or_default();
    let pool = if roomy.is_some() { order.len() } else { total };
    order.extend(by_node.into_values().flatten());
    (order, pool)
}

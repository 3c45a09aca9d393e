//! What results.json and the terminal say about the topology and the placement.

use super::place::{cores, Placement};
use super::sysfs::{Topology, SYSFS};
use anyhow::{Context, Result};
use model::config::{LoadConfig, Smt, SweepConfig};
use model::placement::{cpu_list, ranges};
use model::placement::{CellPlacement, PlacedCpu, TopologyRecord};

impl Placement {
    /// Places `sweep` on this machine: its sysfs topology, only the CPUs in lbbench's affinity mask.
    pub fn detect(sweep: &SweepConfig) -> Result<Placement> {
        let allowed = lbproc::cpus::allowed();
        let topology = match Topology::read(SYSFS.as_ref()) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("WARNING: {e}; placing as if every CPU were a physical core of its own");
                Topology::flat(&allowed)
            }
        };
        Placement::plan(topology, &allowed, sweep).context("placing the sweep's server and client on CPUs")
    }

    fn placed(&self, cpus: &[usize]) -> Vec<PlacedCpu> {
        cpus.iter()
            .filter_map(|&c| self.topology.cpu(c))
            .map(|c| PlacedCpu {
                cpu: c.cpu,
                package: c.package,
                core: c.core,
                node: c.node,
            })
            .collect()
    }

    /// A cell's CPUs with their core and node.
    pub fn cell(&self, server_cores: usize) -> CellPlacement {
        CellPlacement {
            server: self.placed(self.server(server_cores).unwrap_or_default()),
            client: self.placed(&self.client),
        }
    }

    /// The governors of the CPUs the sweep uses, distinct values joined by ", ".
    pub fn governor(&self) -> Option<String> {
        let mut governors: Vec<&str> = self
            .allowed
            .iter()
            .filter_map(|&c| self.topology.cpu(c)?.governor.as_deref())
            .collect();
        governors.sort_unstable();
        governors.dedup();
        (!governors.is_empty()).then(|| governors.join(", "))
    }

    pub fn client_threads(&self, load: &LoadConfig) -> usize {
        load.threads(self.client.len())
    }

    pub fn record(&self, load: &LoadConfig) -> TopologyRecord {
        let placed = self.placed(&self.allowed);
        let mut packages: Vec<i32> = placed.iter().map(|c| c.package).collect();
        packages.sort_unstable();
        packages.dedup();
        TopologyRecord {
            cores: self.cores,
            threads: self.allowed.len(),
            threads_per_core: self
                .allowed
                .iter()
                .filter_map(|&c| self.topology.cpu(c))
                .map(|c| c.siblings.iter().filter(|s| self.allowed.contains(s)).count())
                .max()
                .unwrap_or(1),
            packages: packages.len(),
            nodes: self.nodes_of(&self.allowed).len(),
            smt: self.smt,
            cpus: placed,
            client_cpus: self.placed(&self.client),
            client_threads: self.client_threads(load),
            same_node: self.same_node(),
            governor: self.governor(),
            turbo: self.topology.turbo,
            notes: self.notes.clone(),
        }
    }

    /// What the terminal shows before the sweep: topology, placement, notes, governor warning.
    pub fn announce(&self, load: &LoadConfig) -> Vec<String> {
        let r = self.record(load);
        let smt = match self.smt {
            Smt::OneThread => "one thread per core",
            Smt::AllThreads => "all threads of each core",
        };
        let mut lines = vec![
            format!(
                "CPU topology: {} physical {} × {} thread{}, {} NUMA node{} (lbbench may use CPUs {}); server: {smt} (sweep.smt)",
                r.cores,
                if r.cores == 1 { "core" } else { "cores" },
                r.threads_per_core,
                if r.threads_per_core == 1 { "" } else { "s" },
                r.nodes,
                if r.nodes == 1 { "" } else { "s" },
                ranges(&self.allowed)
            ),
            format!(
                "client: {}, {} thread{}, in every cell",
                cpu_list(&self.client),
                r.client_threads,
                if r.client_threads == 1 { "" } else { "s" }
            ),
        ];
        let servers: Vec<String> = self
            .servers
            .iter()
            .map(|(n, cpus)| format!("{} → {}", cores(*n), cpu_list(cpus)))
            .collect();
        lines.push(format!("server: {}", servers.join("; ")));
        lines.extend(self.notes.iter().map(|n| format!("note: {n}")));
        let turbo = r.turbo.map(|on| format!("turbo {}", if on { "on" } else { "off" }));
        let frequency: Vec<String> = r
            .governor
            .iter()
            .map(|g| format!("governor {g}"))
            .chain(turbo)
            .collect();
        if !frequency.is_empty() {
            lines.push(format!("CPU frequency: {}", frequency.join(", ")));
        }
        if r.governor.as_ref().is_some_and(|g| g != "performance") {
            lines.push(
                "WARNING: the CPU frequency governor is not performance: clock speeds follow the load, a \
                 frequent source of noise (as root: cpupower frequency-set -g performance)"
                    .into(),
            );
        }
        lines
    }
}

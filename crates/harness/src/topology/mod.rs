//! The machine's CPU topology (physical cores, their hardware threads, NUMA nodes, frequency
//! governor), read once from sysfs, and where a sweep puts its server and its client on it.
//!
//! CPU numbers are hardware threads: two of them may be SMT siblings of one physical core, and on
//! a multi-socket machine they may sit on different NUMA nodes. Placing by number alone could put
//! a "1-core" server and its client on one core, so placement goes by this.

mod place;
mod record;
mod sysfs;

pub use place::{Placement, PlacementError};
pub use sysfs::{Cpu, Topology, TopologyError, SYSFS};

#[cfg(test)]
mod tests;

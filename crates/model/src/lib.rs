//! lbbench's plain data, below every other layer: the profile a sweep runs (`config` and what it
//! is made of: workloads, the SLO, the fault, the network, the hosts) and the results it writes
//! (`results`, `cell` and what a cell holds: the load report with its histograms and timeline,
//! CPU cost, the fault report, capacity, placement, load hosts), with the schema and the bounded
//! reader of results files (`read`).
//!
//! This crate does no I/O, starts no process and reads no clock: its types are what the
//! instrument (`loadgen`), the report and the harness exchange, and a change to a results type
//! is a change here, which bumps [`results::SCHEMA`]. It may import only the lower crates
//! (`lbproc`).

pub mod cell;
pub mod config;
pub mod cpu;
pub mod fault;
pub mod histogram;
pub mod hosts;
pub mod limits;
pub mod load;
pub mod load_host;
pub mod machine;
pub mod names;
pub mod network;
pub mod noise;
pub mod placement;
pub mod read;
pub mod results;
pub mod rounds;
pub mod serde_keys;
pub mod slo;
pub mod timeline;
pub mod verdict;
pub mod workload;

/// Whether `v` is its type's default: a section a profile did not set is not written back, so a
/// results file of an older lbbench reads and writes back the same.
pub(crate) fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

//! Beyond one machine: the strategy on a server host, the load from one or more load hosts, all
//! reached from the controller (`lbbench run`) with the system's `ssh` — the user's
//! `~/.ssh/config`, keys, jump hosts and known_hosts; no agent listening anywhere, no new port.
//!
//! Per cell the controller starts `lbbench host-server` on the server host (the strategy, its
//! readiness and its CPU accounting, without load) and, per load run, `lbbench agent` on each load
//! host (its share of the connections and of the rate). Both speak JSON lines over the ssh
//! session's stdin and stdout ([`ToAgent`]/[`FromAgent`], [`ToServer`]/[`FromServer`]); both end
//! when their stdin closes and at a hard deadline, so nothing keeps sending when the controller
//! dies. Each agent times its requests on its own monotonic clock, from the go it received;
//! the controller merges the agents' per-thread statistics exactly as one host merges its threads.

pub mod agent;
pub mod controller;
pub mod host_server;
pub mod hosts;
pub mod process;
pub mod ssh;
pub mod wire;

pub use controller::Fleet;

use model::cell::CellResult;

/// For the terminal: the load hosts whose client was saturated, by name ("" when none).
pub fn saturated_hosts(cell: &CellResult) -> String {
    let names: Vec<&str> = cell
        .load_hosts
        .iter()
        .filter(|h| h.client_saturated)
        .map(|h| h.host.as_str())
        .collect();
    match names.as_slice() {
        [] => String::new(),
        names => format!(" (saturated load host: {})", names.join(", ")),
    }
}

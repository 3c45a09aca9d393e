//! What a strategy asks of a worker (`[worker]` in its manifest): plain data, below both the
//! strategy and the worker modules.

use serde::Deserialize;

/// What a strategy needs from the worker it fronts (`[worker]` in its manifest).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerNeed {
    /// "port": each worker on a port of its own; "socket": each worker on a listening socket it
    /// inherits. Absent: the strategy is its own worker, named by `is`.
    pub takes: Option<Takes>,
    /// The worker the strategy itself is (Node's cluster module is the "node" worker); default
    /// the Rust Hello World worker.
    #[serde(default = "in_process_name")]
    pub is: String,
    /// Its workers are the only processes that serve (the kernel balances them): its CPU per
    /// request is the worker's own, the baseline the report measures the others against.
    #[serde(default)]
    pub alone: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Takes {
    Port,
    Socket,
}

/// The name of the in-process Rust worker (`workers/hello`).
pub const IN_PROCESS: &str = "hello";

pub fn in_process_name() -> String {
    IN_PROCESS.into()
}

impl Default for WorkerNeed {
    fn default() -> WorkerNeed {
        WorkerNeed {
            takes: None,
            is: in_process_name(),
            alone: false,
        }
    }
}

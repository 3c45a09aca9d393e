//! Strategy manifests: `servers/<dir>/strategy.toml`, discovered by glob (`file`), validated and
//! rendered into what a cell starts (`strategy`); worker manifests, `workers/<dir>/worker.toml`
//! (`worker`), each run behind every strategy that can front it.

mod file;
mod need;
mod reload;
mod strategy;
mod worker;

pub use crate::requires::{which, Requires};
pub use file::{discover, parse, ManifestError, MANIFEST};
pub use need::{Takes, WorkerNeed, IN_PROCESS};
pub use reload::Reload;
pub use strategy::{check_name, KeyError, Launch, Layout, Slot, Strategy, PLACEHOLDERS};
pub use worker::{discover_workers, parse_worker, Worker, WorkerError, EXEC_ENV};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod worker_tests;

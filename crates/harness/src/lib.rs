//! The harness: what runs a sweep. Strategies found by their manifests (`manifest`), the sweep
//! over them (`runner`), each cell in a child process of its own with namespaces and a guard
//! (`cell`, `sandbox`, `guard`, `netns`), the strategy's processes (`server`, `procs`), faults
//! injected into a window (`fault`), load hosts over ssh (`remote`), where server and client run
//! (`topology`) and what the server's CPU did (`cpu`).
//!
//! It drives the instrument (`loadgen`), writes through the report (`report`) and exchanges the
//! model's types (`model`); none of those know it.

/// `lbbench --version`: the version and the commit built from; every host of a sweep must agree.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("LBBENCH_COMMIT"), ")");

pub mod capacity;
pub mod cell;
pub mod clock;
pub mod cpu;
pub mod fault;
pub mod guard;
pub mod machine;
pub mod manifest;
pub mod netns;
pub mod procs;
pub mod remote;
pub mod requires;
pub mod rundir;
pub mod runner;
pub mod sandbox;
pub mod scaffold;
pub mod server;
pub mod sysctl;
pub mod template;
pub mod topology;
pub mod userns;

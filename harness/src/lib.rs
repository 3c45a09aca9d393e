/// `lbbench --version`: the version and the commit built from; every host of a sweep must agree.
pub const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (", env!("LBBENCH_COMMIT"), ")");

pub mod capacity;
pub mod cell;
pub mod cli;
pub mod commands;
pub mod config;
pub mod cpu;
pub mod fault;
pub mod guard;
pub mod load;
pub mod machine;
pub mod manifest;
pub mod netns;
pub mod procs;
pub mod remote;
pub mod report;
pub mod requires;
pub mod runner;
pub mod sandbox;
pub mod scaffold;
pub mod serve;
pub mod server;
pub mod sysctl;
pub mod topology;
pub mod userns;
pub mod workload;

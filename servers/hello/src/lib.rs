//! The Hello World worker shared by every Rust strategy, and the process plumbing
//! (CPU pinning, forking, fd passing, supervision) the strategies are built from.

pub mod args;
pub mod conn;
pub mod fdpass;
pub mod http;
pub mod process;
pub mod testkit;
pub mod worker;

pub use args::StrategyArgs;

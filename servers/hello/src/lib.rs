//! The Hello World worker shared by every Rust strategy, and the process plumbing
//! (CPU pinning, forking, fd passing, supervision) the strategies are built from.

pub mod args;
pub mod conn;
pub mod fdpass;
pub mod http;
pub mod pool;
pub mod process;
pub mod testkit;
pub mod worker;

pub use args::StrategyArgs;

/// Runs a strategy's main: errors are printed as a message with its causes (never a backtrace,
/// the harness shows this output to users) and exit with status 1.
pub fn main(body: impl FnOnce() -> anyhow::Result<()>) -> std::process::ExitCode {
    match body() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

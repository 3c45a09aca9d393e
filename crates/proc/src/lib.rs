//! Process plumbing shared by the strategies and the harness: CPU lists and pinning, forking a
//! child before any runtime exists, tying children to their parent's life, closing inherited
//! descriptors, one stop routine (SIGTERM, grace, SIGKILL), a signal-driven supervisor that can
//! replace dead workers, descriptor passing, free ports, and keeping idle CPUs awake while
//! measuring.

pub mod awake;
pub mod child;
pub mod cpus;
pub mod cpustat;
pub mod fdpass;
pub mod pidns;
pub mod ports;
pub mod stop;
pub mod supervise;

pub use child::{
    announce_worker, die_with_parent, fork_child, is_named_worker, reset_signals, set_name, signal_at_parent_death,
    tie, WORKER_NAME,
};
pub use cpus::{allowed, format_cpus, parse_cpus, pin};
pub use stop::{alive, stop};

/// Runs a program's main: errors are printed as a message with its causes (never a backtrace,
/// users read this output) and the process exits with status 1.
pub fn run_main(body: impl FnOnce() -> anyhow::Result<()>) -> std::process::ExitCode {
    match body() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

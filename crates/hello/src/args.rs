//! The command line every Rust strategy binary shares.

use clap::Parser;
use std::time::Duration;

/// The main of a strategy binary: parse its command line `A` (whose common options `common`
/// finds), check it and pin the process to `--cpus` (children forked later inherit that), then
/// `run`; errors are printed as messages.
pub fn main<A: Parser>(
    common: impl FnOnce(&A) -> &StrategyArgs,
    run: impl FnOnce(A) -> anyhow::Result<()>,
) -> std::process::ExitCode {
    lbproc::run_main(|| {
        let args = A::parse();
        common(&args).apply()?;
        run(args)
    })
}

#[derive(Parser, Debug, Clone)]
pub struct StrategyArgs {
    /// Number of worker processes.
    #[arg(long, default_value_t = 2)]
    pub workers: usize,
    /// Public port to serve on.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: std::net::IpAddr,
    /// CPUs every process of the strategy is pinned to, e.g. "0-1" or "0,2" (default: all).
    #[arg(long)]
    pub cpus: Option<String>,
    /// Seconds an idle keep-alive connection is kept open (and a write may wait for the client).
    #[arg(long, default_value_t = 60)]
    pub idle_timeout_s: u64,
    /// Seconds a request may take to arrive whole, from its first byte.
    #[arg(long, default_value_t = 10)]
    pub header_timeout_s: u64,
    /// Milliseconds the master gives its workers between SIGTERM and SIGKILL when stopping.
    #[arg(long, default_value_t = 2000)]
    pub stop_grace_ms: u64,
}

impl StrategyArgs {
    pub fn timeouts(&self) -> http1::Timeouts {
        http1::Timeouts {
            idle: Duration::from_secs(self.idle_timeout_s),
            header: Duration::from_secs(self.header_timeout_s),
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.host, self.port)
    }

    /// How the master supervises its workers: a dead worker is replaced at once, as a pre-fork
    /// server's master does (its death still shows in the results: the requests it had fail).
    pub fn policy(&self) -> lbproc::supervise::Policy {
        lbproc::supervise::Policy {
            grace: Duration::from_millis(self.stop_grace_ms),
            respawn: true,
        }
    }

    /// Validates the arguments and pins this process to `--cpus`; children forked later inherit it.
    pub fn apply(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.workers >= 1, "--workers must be at least 1");
        if let Some(cpus) = &self.cpus {
            lbproc::pin(&lbproc::parse_cpus(cpus)?)?;
        }
        Ok(())
    }

    /// The CPUs of `--cpus`, or when not given those this process may run on.
    pub fn cpu_list(&self) -> anyhow::Result<Vec<usize>> {
        match &self.cpus {
            Some(c) => lbproc::parse_cpus(c),
            None => Ok(lbproc::allowed()),
        }
    }

    /// The number of CPUs in `--cpus` (1 when not given).
    pub fn cpu_count(&self) -> anyhow::Result<usize> {
        Ok(match &self.cpus {
            Some(c) => lbproc::parse_cpus(c)?.len(),
            None => 1,
        })
    }
}

//! The command line every Rust strategy binary shares.

use clap::Parser;
use std::time::Duration;

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
    /// Seconds an idle keep-alive connection is kept open.
    #[arg(long, default_value_t = 60)]
    pub idle_timeout_s: u64,
}

impl StrategyArgs {
    pub fn idle(&self) -> Duration {
        Duration::from_secs(self.idle_timeout_s)
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::new(self.host, self.port)
    }

    /// Validates the arguments and pins this process to `--cpus`; children forked later inherit it.
    pub fn apply(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.workers >= 1, "--workers must be at least 1");
        if let Some(cpus) = &self.cpus {
            crate::process::pin(&crate::process::parse_cpus(cpus)?)?;
        }
        Ok(())
    }
}

//! `lbbench hosts check`.

use super::read_profile;
use super::run::connect;
use crate::cli::ServersArgs;
use anyhow::{bail, Result};
use std::path::Path;

/// `lbbench hosts check`: every check `run` makes of the hosts, and no load.
pub fn check(config: &Path, servers: &ServersArgs) -> Result<()> {
    let config = read_profile(config)?;
    let Some(hosts) = &config.hosts else {
        bail!("the profile has no [hosts] section: everything runs on this machine, nothing to check");
    };
    connect(hosts, servers)?;
    println!("all {} hosts run lbbench {}", hosts.load.len() + 1, harness::VERSION);
    Ok(())
}

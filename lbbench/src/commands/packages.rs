//! `lbbench packages`: the Debian packages that would make unavailable strategies available.

use super::discover;
use crate::cli::ServersArgs;
use anyhow::Result;
use harness::manifest;

pub fn packages(args: ServersArgs) -> Result<()> {
    let (all, _) = discover(&args)?;
    let mut pkgs: Vec<&str> = Vec::new();
    for s in &all {
        if s.requires.programs.iter().any(|p| manifest::which(p).is_none()) {
            pkgs.extend(s.requires.packages.iter().map(String::as_str));
        }
    }
    pkgs.sort_unstable();
    pkgs.dedup();
    if !pkgs.is_empty() {
        println!("{}", pkgs.join(" "));
    }
    Ok(())
}

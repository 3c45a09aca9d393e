//! `lbbench new`: a strategy copied under a new name.

use super::discover;
use crate::cli::NewArgs;
use anyhow::{bail, Context, Result};
use harness::manifest;

/// Copies a strategy directory under a new name, renaming it in its manifest and, when it has
/// Rust code, in its Cargo package (Cargo refuses two packages of one name).
pub fn new(args: NewArgs) -> Result<()> {
    manifest::check_name(&args.name)?;
    let (all, _) = discover(&args.servers)?;
    if all.iter().any(|s| s.name == args.name) {
        bail!("a strategy named {:?} already exists: choose another name", args.name);
    }
    let from = all
        .iter()
        .find(|s| s.name == args.from || s.dir.ends_with(&args.from))
        .with_context(|| {
            let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
            format!("no strategy {:?} to copy; known: {}", args.from, names.join(", "))
        })?;
    let dest = args.servers.servers.join(&args.name);
    harness::scaffold::copy_strategy(&from.dir, &dest, &args.name)?;
    println!(
        "created {} from {}; `lbbench list` shows it, `make bench` builds and runs it",
        dest.display(),
        from.dir.display()
    );
    Ok(())
}

//! The check every host of `[hosts]` must pass before a sweep (`lbbench hosts check`): ssh
//! reaches it and its lbbench is this version.

use super::ssh::Session;
use anyhow::{bail, Result};
use model::hosts::Host;
use std::path::{Path, PathBuf};

/// The path of lbbench on `host`: its own setting, or this lbbench's path.
pub fn lbbench_path(host: &Host) -> Result<PathBuf> {
    match &host.lbbench {
        Some(p) => Ok(p.clone()),
        None => Ok(std::env::current_exe()?),
    }
}

/// Connects to every host and compares its `lbbench --version` with this one's. Every
/// difference is reported, each with how to fix it; `Ok` with a line per host otherwise.
pub fn check_versions(sessions: &[(&Host, &Session)]) -> Result<Vec<String>> {
    let mine = format!("lbbench {}", crate::VERSION);
    let (mut lines, mut wrong) = (Vec::new(), Vec::new());
    for (host, session) in sessions {
        let path = lbbench_path(host)?;
        let answer = session.output(&[path.display().to_string(), "--version".into()]);
        match answer {
            Ok(v) if v.trim() == mine => lines.push(format!("{}: {mine} at {}", host.ssh, path.display())),
            Ok(v) => wrong.push(format!(
                "{} answers `{}` from {}, this controller is `{mine}`: copy this lbbench there \
                 (e.g. scp {} {}:{}) or point its `lbbench` option at a binary of this commit",
                host.ssh,
                v.trim(),
                path.display(),
                std::env::current_exe()?.display(),
                host.ssh,
                path.display()
            )),
            Err(e) => wrong.push(format!(
                "{}: `{} --version` failed: {e:#}; install lbbench there (this commit) or set its `lbbench` path",
                host.ssh,
                path.display()
            )),
        }
    }
    if !wrong.is_empty() {
        bail!("hosts differ from this controller:\n  {}", wrong.join("\n  "));
    }
    Ok(lines)
}

/// The repository on the server host: its option, or the controller's own path.
pub fn server_repo(server: &Host, local_root: &Path) -> PathBuf {
    server.repo.clone().unwrap_or_else(|| local_root.to_path_buf())
}

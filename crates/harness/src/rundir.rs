//! Run directories: a fresh private one per cell (or per `lbbench serve`, per ssh fleet) for
//! generated configs, pid files, sockets and logs, named `lbbench-<pid>-<name>-<i>` under the
//! temporary directory. The first one a process makes also removes those of lbbench processes
//! that are gone (killed with SIGKILL, say, before they could).

use anyhow::{bail, Context, Result};
use std::path::PathBuf;

/// A fresh private directory for one cell's generated configs, pid files and logs. The first
/// call of a process also removes what lbbench processes killed earlier left behind.
pub fn tempdir(name: &str) -> Result<PathBuf> {
    let base = std::env::temp_dir();
    static SWEPT: std::sync::Once = std::sync::Once::new();
    SWEPT.call_once(|| remove_stale(&base));
    for i in 0..1000u32 {
        let dir = base.join(format!("lbbench-{}-{name}-{i}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", dir.display())),
        }
    }
    bail!("cannot create a run directory under {}", base.display())
}

/// A run directory ([`tempdir`]) removed, with what is in it, when this is dropped: on an
/// early return with an error as well.
pub struct RunDir(pub PathBuf);

impl RunDir {
    pub fn new(name: &str) -> Result<RunDir> {
        tempdir(name).map(RunDir)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes `lbbench-<pid>-*` directories of ours whose lbbench process is gone (killed with
/// SIGKILL, say, before it could remove them).
fn remove_stale(base: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    let uid = nix::unistd::getuid().as_raw();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = stale_pid(&name.to_string_lossy()) else {
            continue;
        };
        let ours = entry.metadata().is_ok_and(|m| {
            use std::os::unix::fs::MetadataExt;
            m.is_dir() && m.uid() == uid
        });
        if ours && pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The pid in a run directory's name, `lbbench-<pid>-<name>-<i>`.
fn stale_pid(dir: &str) -> Option<u32> {
    let rest = dir.strip_prefix("lbbench-")?;
    rest.split('-').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_of_dead_lbbench_processes_are_removed_and_the_rest_kept() {
        let base = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let names = [
            format!("lbbench-{dead}-nginx-0"),
            format!("lbbench-{}-nginx-0", std::process::id()),
            "lbbench-1-init-0".to_string(),
            "lbbench-results".to_string(),
        ];
        for n in &names {
            std::fs::create_dir(base.path().join(n)).unwrap();
        }
        remove_stale(base.path());
        let left: Vec<bool> = names.iter().map(|n| base.path().join(n).exists()).collect();
        assert_eq!(left, [false, true, true, true], "{names:?}");
    }
}

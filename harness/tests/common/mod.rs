//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Builds a workspace package's binaries (debug; `--workspace`: all) and returns their directory.
pub fn debug_bin(package: &str) -> PathBuf {
    static BUILD: Mutex<()> = Mutex::new(());
    let _one_at_a_time = BUILD.lock().unwrap();
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--bins"])
        .args(if package == "--workspace" {
            vec![package]
        } else {
            vec!["-p", package]
        })
        .current_dir(workspace())
        .status()
        .unwrap();
    assert!(status.success(), "cargo build -p {package} failed");
    Path::new(env!("CARGO_BIN_EXE_lbbench")).parent().unwrap().to_path_buf()
}

/// Builds every binary of the workspace (debug) and returns their directory.
pub fn all_debug_bins() -> PathBuf {
    debug_bin("--workspace")
}

/// (pid, parent pid) of every live process (zombies excluded).
fn processes() -> Vec<(u32, u32)> {
    let mut all = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let mut f = rest.split_whitespace();
        let (state, ppid) = (f.next(), f.next().and_then(|p| p.parse().ok()));
        if let (Some(s), Some(ppid)) = (state, ppid) {
            if s != "Z" {
                all.push((pid, ppid));
            }
        }
    }
    all
}

/// Every live descendant of `root`.
pub fn descendants(root: u32) -> Vec<u32> {
    let all = processes();
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        found.extend(all.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    found.remove(0);
    found
}

/// Whether `pid` is gone (or a zombie).
pub fn gone(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| s.contains(") Z "))
        .unwrap_or(true)
}

/// Waits up to `limit` for `cond`.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    cond()
}

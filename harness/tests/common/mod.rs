//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

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

pub const TINY: &str = r#"
[sweep]
cores = [1]
workloads = ["keepalive", "close"]
[load]
connections = 8
duration = "400ms"
warmup = "100ms"
[server]
ready_timeout = "10s"
stop_grace = "1s"
"#;

/// A temporary repository layout: servers/<dir>/strategy.toml for each (dir, manifest).
pub fn servers(manifests: &[(&str, String)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for (dir, text) in manifests {
        let d = root.path().join("servers").join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("strategy.toml"), text).unwrap();
    }
    std::fs::write(root.path().join("tiny.toml"), TINY).unwrap();
    root
}

pub fn lbbench(root: &Path, bin: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lbbench"))
        .args(args)
        .arg("--servers")
        .arg(root.join("servers"))
        .arg("--bin")
        .arg(bin)
        .current_dir(root)
        .output()
        .unwrap()
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
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

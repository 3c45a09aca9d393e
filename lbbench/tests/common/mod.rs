//! Helpers shared by the end-to-end tests.
#![allow(dead_code)]

pub mod faults;

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

/// 2 workers on 1 core, so it runs on any machine; both workloads. Only closed-loop windows, and
/// none measured again on a busy machine: these trials read who served, not how fast.
pub const TWO_WORKERS: &str = r#"
[sweep]
cores = [1]
workers_per_core = 2
workloads = ["keepalive", "close"]
repeats = 1
[load]
connections = 8
duration = "500ms"
warmup = "200ms"
common_rate = 0
[server]
ready_timeout = "30s"
stop_grace = "2s"
[noise]
redo = 0
"#;

pub const TINY: &str = r#"
[sweep]
cores = [1]
workloads = ["keepalive", "close"]
repeats = 1
[load]
connections = 8
duration = "400ms"
warmup = "100ms"
common_rate = 0
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

/// `lbbench SUBCOMMAND --servers <this repo>/servers --bin BIN ARGS...`, run in `dir` (the options
/// come first, so ARGS may end with `-- command`).
pub fn workspace_lbbench(bin: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lbbench"));
    cmd.arg(args[0])
        .arg("--servers")
        .arg(workspace().join("servers"))
        .arg("--bin")
        .arg(bin)
        .args(&args[1..])
        .current_dir(dir);
    cmd
}

/// Every strategy `lbbench list` shows, with why it cannot run here (if it cannot).
pub fn strategies(bin: &Path) -> Vec<(String, Option<String>)> {
    let out = workspace_lbbench(bin, &workspace(), &["list"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    // A strategy's first line starts with its name; its status is the next (indented) line.
    lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.starts_with(' '))
        .map(|(i, l)| {
            let name = l.split_whitespace().next().unwrap().to_string();
            let status = lines[i + 1].trim();
            (name, status.strip_prefix("unavailable: ").map(String::from))
        })
        .collect()
}

/// The strategies `lbbench list` says may give one worker every connection.
pub fn concentrating(bin: &Path) -> Vec<String> {
    let out = workspace_lbbench(bin, &workspace(), &["list"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut names = Vec::new();
    let mut current = None;
    for line in text.lines() {
        if !line.starts_with(' ') {
            current = line.split_whitespace().next().map(String::from);
        } else if line.contains("may give one worker every connection") {
            names.extend(current.take());
        }
    }
    names
}

/// servers/reuseport/strategy.toml renamed to `name`, its build line dropped (no workspace here).
pub fn copy_of_reuseport(name: &str) -> String {
    let original = std::fs::read_to_string(workspace().join("servers/reuseport/strategy.toml")).unwrap();
    original
        .lines()
        .filter(|l| !l.starts_with("build"))
        .map(|l| {
            if l.starts_with("name") {
                format!("name = \"{name}\"")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `lbbench run -c p.toml --out res --no-build --strategies STRATEGY`, run in `dir`.
pub fn run_strategy(bin: &Path, dir: &Path, strategy: &str) -> Command {
    workspace_lbbench(
        bin,
        dir,
        &[
            "run",
            "-c",
            "p.toml",
            "--out",
            "res",
            "--no-build",
            "--strategies",
            strategy,
        ],
    )
}

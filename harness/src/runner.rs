//! The sweep: pick strategies, build them, run every cell in its own child process, export after
//! each cell.

use crate::cell::{self, CellSpec};
use crate::config::Config;
use crate::machine::Machine;
use crate::manifest::{Layout, Slot, Strategy};
use crate::report::{self, table, Failure, Results, Skipped};
use crate::sandbox;
use crate::topology::Placement;
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Port every strategy serves on inside a cell's private namespace (nothing else lives there).
const ISOLATED_PORT: u16 = 8080;

pub struct Setup<'a> {
    pub config: &'a Config,
    pub config_path: &'a Path,
    pub layout: &'a Layout,
    pub out_dir: &'a Path,
    /// Where server and client run, decided before any cell (on this machine: None with `remote`).
    pub placement: Option<&'a Placement>,
    /// With `[hosts]`: the server host and the load hosts, connected.
    pub remote: Option<&'a crate::remote::Fleet>,
}

/// Keeps the strategies the config names (all when it names none); unknown names are an error.
pub fn select(all: Vec<Strategy>, wanted: &[String]) -> Result<Vec<Strategy>> {
    if wanted.is_empty() {
        return Ok(all);
    }
    let known: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    if let Some(bad) = wanted.iter().find(|w| !known.contains(&w.as_str())) {
        bail!("unknown strategy {bad:?}; known strategies: {}", known.join(", "));
    }
    Ok(all.into_iter().filter(|s| wanted.contains(&s.name)).collect())
}

/// Splits strategies into runnable ones and skipped ones (with the reason).
pub fn available(all: Vec<Strategy>) -> (Vec<Strategy>, Vec<Skipped>) {
    let isolation = sandbox::Isolation::detect();
    let (mut ok, mut skipped) = (Vec::new(), Vec::new());
    for s in all {
        match s.unavailable(isolation.available()) {
            None => ok.push(s),
            Some(reason) => skipped.push(Skipped {
                strategy: s.name,
                reason,
            }),
        }
    }
    (ok, skipped)
}

/// Runs each distinct build command once; strategies whose build fails are skipped.
pub fn build(all: Vec<Strategy>, layout: &Layout, skipped: &mut Vec<Skipped>) -> Vec<Strategy> {
    let mut done: Vec<(Vec<String>, Option<String>)> = Vec::new();
    let mut ok = Vec::new();
    for s in all {
        let failure = match s.build_argv(layout) {
            None => None,
            Some(argv) => match done.iter().find(|(a, _)| a == &argv) {
                Some((_, f)) => f.clone(),
                None => {
                    eprintln!("building {}: {}", s.name, argv.join(" "));
                    let f = run_build(&argv, &layout.root).err().map(|e| format!("{e:#}"));
                    done.push((argv, f.clone()));
                    f
                }
            },
        };
        let failure = failure
            .or_else(|| {
                s.missing_program(layout)
                    .map(|p| format!("its start program {p} is not there"))
            })
            .or_else(|| s.requires.probe_unmet());
        match failure {
            None => ok.push(s),
            Some(reason) => skipped.push(Skipped {
                strategy: s.name,
                reason: format!("build failed: {reason}"),
            }),
        }
    }
    ok
}

fn run_build(argv: &[String], root: &Path) -> Result<()> {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .current_dir(root)
        .output()
        .with_context(|| format!("running {}", argv[0]))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        bail!("`{}` failed:\n{}", argv.join(" "), tail.join("\n"));
    }
    Ok(())
}

/// One cell to measure.
struct Job<'a> {
    strategy: &'a Strategy,
    cores: usize,
    workload: crate::config::Workload,
    repeat: usize,
}

/// Measures every cell, strategies interleaved innermost so they are compared side by side in time.
pub fn sweep(plan: &Setup, strategies: &[Strategy], skipped: Vec<Skipped>) -> Result<Results> {
    let sweep = &plan.config.sweep;
    // With load hosts, the server runs in its host's own namespace, which they can reach.
    let isolation = match plan.remote {
        None => sandbox::Isolation::detect(),
        Some(_) => sandbox::Isolation::None(
            "with load hosts the server runs in its host's network namespace, which they can reach".into(),
        ),
    };
    let isolated = isolation.private();
    let commit = git_commit(&plan.layout.root);
    let mut results = Results {
        schema: report::SCHEMA,
        lbbench_version: env!("CARGO_PKG_VERSION").into(),
        versions: report::Versions {
            rustc: env!("LBBENCH_RUSTC").into(),
            strategies: strategies
                .iter()
                .map(|s| (s.name.clone(), program_version(s, commit.as_deref())))
                .collect(),
        },
        git_commit: commit.clone(),
        started_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        machine: Machine::detect(),
        topology: plan.placement.map(|p| p.record(&plan.config.load)),
        isolated,
        isolation: isolation.clone(),
        config_path: plan.config_path.display().to_string(),
        config: plan.config.clone(),
        skipped,
        failures: Vec::new(),
        cells: Vec::new(),
    };
    for s in &results.skipped {
        eprintln!("skipping {}: {}", s.strategy, s.reason);
    }
    if !is_root_isolation(&isolation) {
        eprintln!("cell isolation: {}", isolation.describe());
    }
    let mut jobs = Vec::new();
    for &cores in &sweep.cores {
        for workload in &sweep.workloads {
            for repeat in 0..sweep.repeats {
                for strategy in strategies {
                    jobs.push(Job {
                        strategy,
                        cores,
                        workload: workload.clone(),
                        repeat,
                    });
                }
            }
        }
    }
    let bar = progress(jobs.len() as u64);
    for job in &jobs {
        let label = format!("{} cores={} {}", job.strategy.name, job.cores, job.workload.name());
        bar.set_message(label.clone());
        match measure(plan, job, isolated) {
            Ok(cell) => {
                let hosts = crate::remote::saturated_hosts(&cell);
                say(&bar, format!("{label}: {}{hosts}", table::cell_line(&cell)));
                results.cells.push(cell);
            }
            Err(e) => {
                say(&bar, format!("{label}: FAILED: {e:#}"));
                results.failures.push(Failure {
                    strategy: job.strategy.name.clone(),
                    cores: job.cores,
                    workload: job.workload.clone(),
                    repeat: job.repeat,
                    error: format!("{e:#}"),
                });
            }
        }
        report::export_all(&results, plan.out_dir)?;
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(results)
}

fn measure(plan: &Setup, job: &Job, isolated: bool) -> Result<cell::CellResult> {
    // With load hosts, the server host places the server and each load host its client.
    let (server_cpus, client_cpus) = match plan.placement {
        Some(p) => (
            p.server(job.cores)
                .context("no placement for this core count")?
                .to_vec(),
            p.client().to_vec(),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let run_dir = tempdir(&job.strategy.name)?;
    let workers = job.cores * plan.config.sweep.workers_per_core;
    // On the host, the ports after the public one must be free too: fronted workers live there.
    // A server host picks its own free port.
    let port = if isolated || plan.remote.is_some() {
        ISOLATED_PORT
    } else {
        lbproc::ports::free_block(workers)?
    };
    let host = plan.config.network.server_addr();
    let slot = Slot {
        workers,
        port,
        cpus: lbproc::format_cpus(&server_cpus),
        host: host.to_string(),
        run_dir: run_dir.clone(),
        stop_grace_ms: plan.config.server.stop_grace.as_millis() as u64,
    };
    let launch = job.strategy.launch(&slot, plan.layout).map_err(anyhow::Error::msg)?;
    let spec = CellSpec {
        strategy: job.strategy.name.clone(),
        cores: job.cores,
        workload: job.workload.clone(),
        workload_spec: plan
            .config
            .workload(&job.workload)
            .context("the profile's workloads were checked when it was read")?,
        repeat: job.repeat,
        workers,
        launch,
        cwd: plan.layout.root.clone(),
        run_dir: run_dir.clone(),
        port,
        host,
        network: plan.config.network.clone(),
        isolated,
        server_cpus,
        client_cpus,
        load: crate::config::LoadConfig {
            // A strategy that needs longer to warm up (a JIT) gets it.
            warmup: plan.config.load.warmup.max(job.strategy.warmup.unwrap_or_default()),
            ..plan.config.load.clone()
        },
        server: plan.config.server.clone(),
        slo: plan.config.slo.clone(),
        fault: plan.config.fault.clone(),
    };
    let result = match plan.remote {
        Some(fleet) => fleet.run_cell(&spec, plan.config),
        None => cell::run_in_child(&spec),
    };
    let result = result.map(|mut c| {
        if let Some(p) = plan.placement {
            c.placement = p.cell(job.cores);
        }
        c
    });
    let _ = std::fs::remove_dir_all(&run_dir);
    result
}

fn is_root_isolation(i: &sandbox::Isolation) -> bool {
    *i == sandbox::Isolation::Root
}

/// A fresh private directory for one cell's generated configs, pid files and logs. The first
/// call of a process also removes what lbbench processes killed earlier left behind.
pub(crate) fn tempdir(name: &str) -> Result<PathBuf> {
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
pub(crate) struct RunDir(pub PathBuf);

impl RunDir {
    pub(crate) fn new(name: &str) -> Result<RunDir> {
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

/// A line above the bar, or on stderr when the bar is hidden (not a terminal).
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

fn progress(len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} cells · ETA {eta} · {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// The version of the program `s` runs: the first line its manifest's `version` command prints,
/// or, for a strategy built here, the commit it was built from.
fn program_version(s: &Strategy, commit: Option<&str>) -> String {
    let Some(cmd) = &s.version else {
        return match (&s.build, commit) {
            (Some(_), Some(c)) => format!("built from this repository ({c})"),
            _ => "unknown: its manifest has no version command".into(),
        };
    };
    let out = shell_words::split(cmd)
        .ok()
        .filter(|w| !w.is_empty())
        .and_then(|w| Command::new(&w[0]).args(&w[1..]).output().ok());
    let text = out.map(|o| [o.stdout, o.stderr].concat()).unwrap_or_default();
    match String::from_utf8_lossy(&text)
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
    {
        Some(line) => line.to_string(),
        None => format!("unknown: `{cmd}` printed nothing"),
    }
}

/// The commit of the repository at `root`, with "-dirty" when tracked files have changed.
fn git_commit(root: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        let out = Command::new("git").args(args).current_dir(root).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "--short", "HEAD"])?;
    let dirty = !git(&["status", "--porcelain", "--untracked-files=no"])?.is_empty();
    Some(if dirty { format!("{commit}-dirty") } else { commit })
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

//! Worker manifests: `workers/<dir>/worker.toml`, the second axis. A worker is the program that
//! answers the requests (the Rust Hello World worker, a Node server, a user's own app); a
//! strategy that fronts workers (`[worker] takes = "port"` or `"socket"`) runs with any worker
//! that can be started that way, as the pair `<strategy>+<worker>`.

use super::need::Takes;
use super::strategy::{KeyError, Layout, Strategy};
use crate::requires::Requires;
use crate::template::render;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const WORKER_MANIFEST: &str = "worker.toml";
/// Where the launcher puts a worker's command (see `hello::exec`): the strategy's forked child
/// replaces itself with it.
pub const EXEC_ENV: &str = "LBBENCH_WORKER_EXEC";
/// The placeholders a worker's command may use: filled by the launcher per worker...
pub const PER_WORKER: [&str; 4] = ["id", "port", "host", "fd"];
/// ...and by lbbench once.
const FIXED: [&str; 3] = ["dir", "bin", "root"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkerFile {
    name: String,
    description: String,
    /// The strategies' own Rust worker, forked in-process by their launchers: it has no command.
    #[serde(default)]
    inprocess: bool,
    /// Serves on `{host}:{port}`, binding it itself.
    start: Option<String>,
    /// Serves an inherited listening socket, file descriptor `{fd}` (what SO_REUSEPORT groups and
    /// one shared socket need).
    start_fd: Option<String>,
    version: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default, with = "humantime_serde")]
    warmup: Option<std::time::Duration>,
    #[serde(default)]
    requires: Requires,
}

/// One worker, its fixed placeholders filled.
#[derive(Debug, Clone)]
pub struct Worker {
    pub name: String,
    pub description: String,
    pub manifest: PathBuf,
    /// None for the in-process worker.
    start: Option<String>,
    start_fd: Option<String>,
    version: Option<String>,
    env: BTreeMap<String, String>,
    warmup: Option<std::time::Duration>,
    requires: Requires,
}

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("cannot read {path}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid worker manifest {path}:\n{message}")]
    Invalid { path: PathBuf, message: String },
    #[error("worker name {name:?} is declared twice: in {first} and in {second}; rename one")]
    Duplicate {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
}

/// Every `<dir>/*/worker.toml` of `dirs` (a directory that does not exist holds none).
pub fn discover_workers(dirs: &[PathBuf], layout: &Layout) -> Result<Vec<Worker>, WorkerError> {
    let mut all: Vec<Worker> = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path().join(WORKER_MANIFEST)))
            .filter(|p| p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|source| WorkerError::Read {
                path: path.clone(),
                source,
            })?;
            let w = parse_worker(&text, &path, layout)?;
            if let Some(first) = all.iter().find(|o| o.name == w.name) {
                return Err(WorkerError::Duplicate {
                    name: w.name,
                    first: first.manifest.clone(),
                    second: path,
                });
            }
            all.push(w);
        }
    }
    Ok(all)
}

/// Parses and checks one worker manifest.
pub fn parse_worker(text: &str, path: &Path, layout: &Layout) -> Result<Worker, WorkerError> {
    let invalid = |message: String| WorkerError::Invalid {
        path: path.into(),
        message,
    };
    let file: WorkerFile = toml::from_str(text).map_err(|e| invalid(model::config::with_suggestion(&e.to_string())))?;
    super::strategy::check_name(&file.name).map_err(|e| invalid(e.to_string()))?;
    if file.inprocess && (file.start.is_some() || file.start_fd.is_some()) {
        return Err(invalid(
            "start, start_fd: an in-process worker (inprocess = true) has no command; remove them".into(),
        ));
    }
    if !file.inprocess && file.start.is_none() {
        return Err(invalid(
            "start: missing; say how to start one worker on a port, e.g. \
             start = \"python3 {dir}/hello.py --port {port} --host {host}\" (worker {id} answers \
             with X-Worker: {id})"
                .into(),
        ));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut vars: BTreeMap<String, String> = PER_WORKER.iter().map(|k| (k.to_string(), format!("{{{k}}}"))).collect();
    for (k, v) in FIXED.iter().zip([dir, &layout.bin, &layout.root]) {
        vars.insert(k.to_string(), v.display().to_string());
    }
    let fill = |key: &str, t: &Option<String>| -> Result<Option<String>, WorkerError> {
        t.as_ref()
            .map(|t| render(t, &vars).map_err(|e| invalid(KeyError::new(key, e).to_string())))
            .transpose()
    };
    let start = fill("start", &file.start)?;
    let start_fd = fill("start_fd", &file.start_fd)?;
    if let Some(s) = &start_fd {
        if !s.contains("{fd}") {
            return Err(invalid("start_fd: it must pass the socket's {fd} to the worker".into()));
        }
    }
    for (key, s) in [("start", &start), ("start_fd", &start_fd)] {
        if let Some(s) = s {
            let words = shell_words::split(s).map_err(|e| invalid(format!("{key}: {e}")))?;
            if words.is_empty() {
                return Err(invalid(format!("{key}: the command is empty")));
            }
        }
    }
    let version = fill("version", &file.version)?;
    let mut env = BTreeMap::new();
    for (k, v) in &file.env {
        env.insert(
            k.clone(),
            fill(&format!("env.{k}"), &Some(v.clone()))?.unwrap_or_default(),
        );
    }
    let mut requires = file.requires;
    for f in &mut requires.files {
        let p = f.path_mut();
        *p = fill("requires.files", &Some(p.clone()))?.unwrap_or_default();
    }
    Ok(Worker {
        name: file.name,
        description: file.description,
        manifest: path.into(),
        start,
        start_fd,
        version,
        env,
        warmup: file.warmup,
        requires,
    })
}

impl Worker {
    pub fn inprocess(&self) -> bool {
        self.start.is_none()
    }

    /// The command a launcher taking `takes` runs this worker with, if it can: a socket to serve
    /// (when the worker can take one) is preferred even where a port would do, since the launcher
    /// then binds the port before the worker starts and no connection finds it closed.
    pub fn command_for(&self, takes: Takes) -> Option<&str> {
        match takes {
            Takes::Socket => self.start_fd.as_deref(),
            Takes::Port => self.start_fd.as_deref().or(self.start.as_deref()),
        }
    }

    /// `strategy` fronting this worker, named `<strategy>+<worker>`: its environment carries the
    /// worker's command, its requirements and warm-up are both of theirs.
    pub fn behind(&self, strategy: &Strategy) -> Option<Strategy> {
        let command = self.command_for(strategy.worker.takes?)?;
        let mut pair = strategy.clone();
        pair.name = format!("{}+{}", strategy.name, self.name);
        pair.description = format!(
            "{} — with the {} worker: {}",
            strategy.description, self.name, self.description
        );
        pair.worker_name = self.name.clone();
        pair.worker_version = self.version.clone();
        // `{{`/`}}` so that the strategy's own rendering leaves the per-worker placeholders be.
        let escaped = command.replace('{', "{{").replace('}', "}}");
        pair.env.insert(EXEC_ENV.into(), escaped);
        for (k, v) in &self.env {
            pair.env.insert(k.clone(), v.replace('{', "{{").replace('}', "}}"));
        }
        pair.warmup = match (strategy.warmup, self.warmup) {
            (a, None) => a,
            (None, b) => b,
            (Some(a), Some(b)) => Some(a.max(b)),
        };
        let r = &mut pair.requires;
        r.programs.extend(self.requires.programs.iter().cloned());
        r.packages.extend(self.requires.packages.iter().cloned());
        r.files.extend(self.requires.files.iter().cloned());
        r.root |= self.requires.root;
        // A respawned worker is this worker again, so fault recovery is the strategy's as before.
        Some(pair)
    }
}

/// Every strategy, and after each that fronts workers, one pair per other worker it can take.
pub fn with_pairs(strategies: Vec<Strategy>, workers: &[Worker]) -> Vec<Strategy> {
    let mut all = Vec::new();
    for s in strategies {
        let pairs: Vec<Strategy> = workers
            .iter()
            .filter(|w| !w.inprocess())
            .filter_map(|w| w.behind(&s))
            .collect();
        all.push(s);
        all.extend(pairs);
    }
    all
}

//! Reading manifests: every `servers/<dir>/strategy.toml`, each one strategy or one per variant.

use super::need::{WorkerNeed, IN_PROCESS};
use super::strategy::{Layout, Strategy};
use super::worker::{discover_workers, with_pairs, WorkerError};
use crate::requires::Requires;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const MANIFEST: &str = "strategy.toml";
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    name: String,
    description: String,
    build: Option<String>,
    start: String,
    /// A command whose first line of output names the version of the program the strategy
    /// runs (e.g. "nginx -v"), recorded in results.json. May use `{dir}`, `{bin}`, `{root}`, params.
    version: Option<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// Kernel settings (net.* only) written in the cell's private network namespace.
    #[serde(default)]
    sysctls: BTreeMap<String, String>,
    /// The strategy replaces a worker that dies (shown by `lbbench list`; faults measure it).
    #[serde(default)]
    respawns: bool,
    /// How it reloads without downtime: "signal:NAME" (to its first process) or a command.
    reload: Option<String>,
    /// The least closed-loop warm-up it needs to reach its steady rate (a JIT's), if more than
    /// the profile's `load.warmup`.
    #[serde(default, with = "humantime_serde")]
    warmup: Option<std::time::Duration>,
    /// Why its mechanism may hand one worker every connection (a variant may say otherwise).
    concentrates: Option<String>,
    #[serde(default)]
    requires: Requires,
    /// What it needs from the worker it fronts, or which worker it is.
    #[serde(default)]
    worker: WorkerNeed,
    #[serde(default)]
    variants: Vec<Variant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Variant {
    name: String,
    description: String,
    #[serde(default)]
    params: BTreeMap<String, String>,
    /// Overrides the manifest's `concentrates` for this variant.
    concentrates: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read {path}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("invalid strategy manifest {path}:\n{message}")]
    Invalid { path: PathBuf, message: String },
    #[error("strategy name {name:?} is declared twice: in {first} and in {second}; rename one")]
    Duplicate {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
    #[error("no strategy manifests found: expected {dir}/*/{MANIFEST}")]
    None { dir: PathBuf },
    #[error(transparent)]
    Worker(#[from] WorkerError),
}

/// Finds `<servers>/*/strategy.toml`, sorted by directory, and validates each; after each
/// strategy that fronts workers come its pairs with every worker of `layout.workers` it can run.
pub fn discover(servers: &Path, layout: &Layout) -> Result<Vec<Strategy>, ManifestError> {
    let read = |path: &Path, source| ManifestError::Read {
        path: path.into(),
        source,
    };
    let mut manifests: Vec<PathBuf> = std::fs::read_dir(servers)
        .map_err(|e| read(servers, e))?
        .filter_map(|entry| entry.ok().map(|e| e.path().join(MANIFEST)))
        .filter(|p| p.is_file())
        .collect();
    manifests.sort();
    if manifests.is_empty() {
        return Err(ManifestError::None { dir: servers.into() });
    }
    let mut all: Vec<Strategy> = Vec::new();
    for path in manifests {
        let text = std::fs::read_to_string(&path).map_err(|e| read(&path, e))?;
        for s in parse(&text, &path, layout)? {
            if let Some(first) = all.iter().find(|o| o.name == s.name) {
                return Err(ManifestError::Duplicate {
                    name: s.name,
                    first: first.manifest.clone(),
                    second: path,
                });
            }
            all.push(s);
        }
    }
    let workers = discover_workers(&layout.workers, layout)?;
    Ok(with_pairs(all, &workers))
}

/// Parses one manifest into its strategies (one, or one per variant) and checks every template.
pub fn parse(text: &str, path: &Path, layout: &Layout) -> Result<Vec<Strategy>, ManifestError> {
    let invalid = |message: String| ManifestError::Invalid {
        path: path.into(),
        message,
    };
    let file: ManifestFile =
        toml::from_str(text).map_err(|e| invalid(model::config::with_suggestion(&e.to_string())))?;
    let dir = path.parent().unwrap_or(Path::new(".")).to_path_buf();
    if file.worker.takes.is_some() && file.worker.is != IN_PROCESS {
        return Err(invalid(format!(
            "[worker]: `takes` (it fronts any worker) and `is = {:?}` (it is that worker) exclude each other; keep one",
            file.worker.is
        )));
    }
    let worker_name = match file.worker.takes {
        Some(_) => IN_PROCESS.to_string(),
        None => file.worker.is.clone(),
    };
    let base = Strategy {
        name: file.name,
        description: file.description,
        manifest: path.into(),
        dir,
        build: file.build,
        start: file.start,
        version: file.version,
        env: file.env,
        sysctls: file.sysctls,
        params: BTreeMap::new(),
        respawns: file.respawns,
        reload: file.reload,
        warmup: file.warmup,
        concentrates: file.concentrates,
        requires: file.requires,
        worker: file.worker,
        worker_name,
        worker_version: None,
    };
    let mut strategies = if file.variants.is_empty() {
        vec![base]
    } else {
        let mut names: Vec<&str> = Vec::new();
        for v in &file.variants {
            if names.contains(&v.name.as_str()) {
                return Err(invalid(format!("variant {:?} is declared twice", v.name)));
            }
            names.push(&v.name);
        }
        file.variants
            .into_iter()
            .map(|v| Strategy {
                name: v.name,
                description: v.description,
                params: v.params,
                concentrates: v.concentrates.or(base.concentrates.clone()),
                ..base.clone()
            })
            .collect()
    };
    for s in &mut strategies {
        s.check(layout).map_err(|e| invalid(e.to_string()))?;
        s.fill_fixed(layout).map_err(|e| invalid(e.to_string()))?;
    }
    Ok(strategies)
}

//! A strategy as a cell runs it: its placeholders filled for a slot, checked, and its start
//! command, environment, sysctls and reload made ready to spawn.

use super::reload::Reload;
use crate::requires::{which, Requires};
use crate::template::render;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Placeholders every start command may use, filled per cell by the runner (see `Strategy::vars`).
pub const PLACEHOLDERS: [&str; 9] = [
    "workers",
    "port",
    "cpus",
    "host",
    "run_dir",
    "stop_grace_ms",
    "dir",
    "bin",
    "root",
];

/// One runnable strategy (a manifest, or one variant of it).
#[derive(Debug, Clone)]
pub struct Strategy {
    pub name: String,
    pub description: String,
    pub manifest: PathBuf,
    pub dir: PathBuf,
    pub build: Option<String>,
    pub(super) start: String,
    pub version: Option<String>,
    pub(super) env: BTreeMap<String, String>,
    pub(super) sysctls: BTreeMap<String, String>,
    pub(super) params: BTreeMap<String, String>,
    pub respawns: bool,
    /// The `reload` key as written (see [`Reload`]).
    pub reload: Option<String>,
    pub warmup: Option<std::time::Duration>,
    /// Why its mechanism may hand one worker every connection, when it may (io_uring's
    /// multishot accept; steering by the CPU that received the packet, on one host): the
    /// results show the concentration, and a test does not ask every worker to serve.
    pub concentrates: Option<String>,
    pub requires: Requires,
    /// What it needs from a worker, or which worker it is (`[worker]`).
    pub worker: super::need::WorkerNeed,
    /// The worker this strategy runs (recorded in every cell): `hello`, the strategy's own, or
    /// the one a pair fronts.
    pub worker_name: String,
    /// The worker's version command, when it is not the strategy's own.
    pub worker_version: Option<String>,
}

/// Where a strategy runs: the per-cell values of the placeholders.
#[derive(Debug, Clone)]
pub struct Slot {
    pub workers: usize,
    pub port: u16,
    pub cpus: String,
    pub host: String,
    pub run_dir: PathBuf,
    /// How long the strategy's own master may give its workers to stop.
    pub stop_grace_ms: u64,
}

impl Slot {
    /// Values that only check a template renders.
    fn probe() -> Slot {
        Slot {
            workers: 1,
            port: 1,
            cpus: "0".into(),
            host: "127.0.0.1".into(),
            run_dir: "/tmp".into(),
            stop_grace_ms: 1000,
        }
    }
}

/// Paths shared by every strategy: the repository root and the release binaries.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    pub bin: PathBuf,
    /// Where worker manifests are found (`<dir>/*/worker.toml`): `<root>/workers`, and any a
    /// user adds (`--worker-dir`).
    pub workers: Vec<PathBuf>,
}

impl Layout {
    /// The repository's layout with its own workers directory.
    pub fn new(root: PathBuf, bin: PathBuf) -> Layout {
        let workers = vec![root.join("workers")];
        Layout { root, bin, workers }
    }
}

/// A start command ready to spawn.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Launch {
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    /// net.* settings for the private network namespace it runs in (see `sysctl`).
    #[serde(default)]
    pub sysctls: Vec<(String, String)>,
    /// How to reload the running strategy, if it can.
    #[serde(default)]
    pub reload: Option<Reload>,
}

/// A manifest's key whose value lbbench cannot use, and why.
#[derive(Debug, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct KeyError {
    pub key: String,
    pub reason: String,
}

impl KeyError {
    pub(super) fn new(key: impl Into<String>, reason: impl std::fmt::Display) -> KeyError {
        KeyError {
            key: key.into(),
            reason: reason.to_string(),
        }
    }
}

impl Strategy {
    pub(super) fn check(&self, layout: &Layout) -> Result<(), KeyError> {
        check_name(&self.name)?;
        if let Some(p) = self.params.keys().find(|p| PLACEHOLDERS.contains(&p.as_str())) {
            return Err(KeyError::new(
                "params",
                format!(
                    "variant {:?}: param {p:?} shadows a built-in placeholder ({})",
                    self.name,
                    PLACEHOLDERS.join(", ")
                ),
            ));
        }
        for (key, value) in &self.sysctls {
            crate::sysctl::check(key, value).map_err(|e| KeyError::new("sysctls", e))?;
        }
        if !self.sysctls.is_empty() && !self.requires.root {
            return Err(KeyError::new(
                "sysctls",
                "they are set in the cell's private network namespace, which lbbench makes only as root: \
                 add `root = true` under [requires]",
            ));
        }
        let probe = Slot::probe();
        let launch = self.launch(&probe, layout)?;
        if launch.argv.is_empty() {
            return Err(KeyError::new("start", "the command is empty"));
        }
        if let Some(b) = &self.build {
            render(b, &self.vars(&probe, layout)).map_err(|e| KeyError::new("build", e))?;
        }
        Ok(())
    }

    /// The placeholders that are the same in every cell: the variant's params, `{dir}`, `{bin}`
    /// and `{root}`.
    fn fixed_vars(&self, layout: &Layout) -> BTreeMap<String, String> {
        let mut vars: BTreeMap<String, String> = self.params.clone();
        let path = |p: &Path| p.display().to_string();
        for (k, v) in [("dir", &self.dir), ("bin", &layout.bin), ("root", &layout.root)] {
            vars.insert(k.to_string(), path(v));
        }
        vars
    }

    pub(super) fn vars(&self, slot: &Slot, layout: &Layout) -> BTreeMap<String, String> {
        let mut vars = self.fixed_vars(layout);
        let per_cell = [
            ("workers", slot.workers.to_string()),
            ("port", slot.port.to_string()),
            ("cpus", slot.cpus.clone()),
            ("host", slot.host.clone()),
            ("run_dir", slot.run_dir.display().to_string()),
            ("stop_grace_ms", slot.stop_grace_ms.to_string()),
        ];
        for (k, v) in per_cell {
            vars.insert(k.to_string(), v);
        }
        vars
    }

    /// Fills the placeholders of `version`, `requires.files` and `requires.probe`, which name no
    /// cell.
    pub(super) fn fill_fixed(&mut self, layout: &Layout) -> Result<(), KeyError> {
        let vars = self.fixed_vars(layout);
        if let Some(v) = &self.version {
            self.version = Some(render(v, &vars).map_err(|e| KeyError::new("version", e))?);
        }
        for f in &mut self.requires.files {
            let path = f.path_mut();
            *path = render(path, &vars).map_err(|e| KeyError::new("requires.files", e))?;
        }
        if let Some(p) = &self.requires.probe {
            self.requires.probe = Some(render(p, &vars).map_err(|e| KeyError::new("requires.probe", e))?);
        }
        Ok(())
    }

    /// Whether this is `balancer`, or `balancer` fronting a worker of the worker axis.
    pub fn fronted_by(&self, balancer: &str) -> bool {
        self.name == balancer || self.name == format!("{balancer}+{}", self.worker_name)
    }

    /// The start command with every placeholder filled in.
    pub fn launch(&self, slot: &Slot, layout: &Layout) -> Result<Launch, KeyError> {
        let vars = self.vars(slot, layout);
        let words = shell_words::split(&self.start).map_err(|e| KeyError::new("start", e))?;
        let argv = words
            .iter()
            .map(|w| render(w, &vars))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| KeyError::new("start", e))?;
        let env = self
            .env
            .iter()
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    render(v, &vars).map_err(|e| KeyError::new(format!("env.{k}"), e))?,
                ))
            })
            .collect::<Result<Vec<_>, KeyError>>()?;
        let reload = match &self.reload {
            Some(r) => Some(Reload::parse(r, &vars).map_err(|e| KeyError::new("reload", e))?),
            None => None,
        };
        let sysctls = self.sysctls.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        Ok(Launch {
            argv,
            env,
            sysctls,
            reload,
        })
    }

    /// The program its start command runs, when that is not there: a path that does not exist,
    /// or a name not on PATH.
    pub fn missing_program(&self, layout: &Layout) -> Option<String> {
        let program = self.launch(&Slot::probe(), layout).ok()?.argv.into_iter().next()?;
        let found = if program.contains('/') {
            Path::new(&program).exists()
        } else {
            which(&program).is_some()
        };
        (!found).then_some(program)
    }

    /// The build command, split into words, with placeholders filled in.
    pub fn build_argv(&self, layout: &Layout) -> Option<Vec<String>> {
        let vars = self.vars(&Slot::probe(), layout);
        let b = self.build.as_ref()?;
        shell_words::split(b)
            .ok()
            .map(|w| w.iter().filter_map(|x| render(x, &vars).ok()).collect())
    }

    /// Why this strategy cannot run here, if it cannot; `isolation` says whether cells get a
    /// private network namespace here (see `Isolation`), and if not, why.
    pub fn unavailable(&self, isolation: Result<(), &str>) -> Option<String> {
        self.requires.unmet(isolation)
    }
}

/// A strategy name is lowercase letters, digits and '-' (it names a directory and a binary).
pub fn check_name(name: &str) -> Result<(), KeyError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(KeyError::new(
            "name",
            format!("{name:?}: use lowercase letters, digits and '-', e.g. \"my-strategy\""),
        ))
    }
}

//! What a strategy needs from the machine (`[requires]` in its manifest), and whether it is here.

use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Requires {
    /// Needs a private network namespace (iptables, sysctls...): root, or an unprivileged user
    /// namespace where the kernel allows one.
    pub root: bool,
    /// Programs that must be on PATH.
    pub programs: Vec<String>,
    /// Debian packages that provide `programs`, installed by `make bench` when root.
    pub packages: Vec<String>,
    /// Files that must exist, e.g. what `make deps` installs into the strategy's directory
    /// (`{dir}/node_modules/...`) or a kernel feature's /proc file. May use `{dir}`, `{bin}`,
    /// `{root}`, params.
    pub files: Vec<RequiredFile>,
}

/// A file a strategy needs: its path, or its path and what to say when it is missing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged, expecting = "a path, or { path = \"...\", reason = \"...\" }")]
pub enum RequiredFile {
    Path(String),
    Explained(ExplainedFile),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExplainedFile {
    pub path: String,
    /// Why the strategy cannot run without it, e.g. "needs Linux 5.14 or later".
    pub reason: String,
}

impl RequiredFile {
    pub fn path(&self) -> &str {
        match self {
            RequiredFile::Path(p) | RequiredFile::Explained(ExplainedFile { path: p, .. }) => p,
        }
    }

    pub fn path_mut(&mut self) -> &mut String {
        match self {
            RequiredFile::Path(p) | RequiredFile::Explained(ExplainedFile { path: p, .. }) => p,
        }
    }
}

impl Requires {
    /// Why a strategy with these requirements cannot run here, if it cannot; `isolation` says
    /// whether cells get a private network namespace here, and if not, why.
    pub fn unmet(&self, isolation: Result<(), &str>) -> Option<String> {
        if let (true, Err(why)) = (self.root, isolation) {
            return Some(format!("needs a private network namespace, and {why}"));
        }
        let mut reasons = Vec::new();
        let missing: Vec<&str> = self
            .programs
            .iter()
            .map(String::as_str)
            .filter(|p| which(p).is_none())
            .collect();
        if !missing.is_empty() {
            let mut reason = format!("needs {} on PATH", missing.join(", "));
            if !self.packages.is_empty() {
                reason += &format!(
                    " (Debian packages: {}; `make bench` installs them when run as root)",
                    self.packages.join(" ")
                );
            }
            reasons.push(reason);
        }
        let absent = self.files.iter().filter(|f| !Path::new(f.path()).exists());
        let mut installable: Vec<&str> = Vec::new();
        for file in absent {
            match file {
                RequiredFile::Path(p) => installable.push(p),
                RequiredFile::Explained(e) => reasons.push(format!("{} (there is no {})", e.reason, e.path)),
            }
        }
        if !installable.is_empty() {
            reasons.push(format!(
                "needs {} (run `make deps`: it installs what the strategies pin in their own directories)",
                installable.join(", ")
            ));
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }
}

/// The full path of `program` on PATH (or the path itself when it names a file).
pub fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        return Path::new(program).is_file().then(|| program.into());
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

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
    /// The oldest Linux it works on, e.g. "5.19" (io_uring's multishot accept).
    pub kernel: Option<String>,
    /// A command that says whether what it needs is here (a kernel feature, a permission): run
    /// before the sweep (after the build, for a program the build makes), it exits 0 when the
    /// strategy can run, and otherwise prints the reason as its first line. May use `{bin}`,
    /// `{dir}`, `{root}`, params.
    pub probe: Option<String>,
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
        if let Some(why) = self.kernel.as_deref().and_then(|k| too_old(k, &kernel_release())) {
            reasons.push(why);
        }
        // A probe the build has yet to make is run after the build (see `probe_unmet`).
        let probe_here = self.probe_argv().is_some_and(|argv| which(&argv[0]).is_some());
        if reasons.is_empty() && probe_here {
            return self.probe_unmet();
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }

    fn probe_argv(&self) -> Option<Vec<String>> {
        shell_words::split(self.probe.as_deref()?)
            .ok()
            .filter(|w| !w.is_empty())
    }

    /// Runs the probe, if there is one: why the strategy cannot run here, when it says so.
    pub fn probe_unmet(&self) -> Option<String> {
        let argv = self.probe_argv()?;
        let out = match std::process::Command::new(&argv[0]).args(&argv[1..]).output() {
            Ok(out) => out,
            Err(e) => return Some(format!("its probe `{}` could not run: {e}", argv.join(" "))),
        };
        if out.status.success() {
            return None;
        }
        let said = [out.stdout, out.stderr].concat();
        let first = String::from_utf8_lossy(&said)
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(String::from);
        Some(first.unwrap_or_else(|| format!("its probe `{}` failed ({})", argv.join(" "), out.status)))
    }
}

/// This kernel's release, e.g. "6.18.44-fc-v669".
fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Why `release` is older than `least` (both "major.minor[.patch...]"), if it is.
fn too_old(least: &str, release: &str) -> Option<String> {
    let numbers = |v: &str| -> Vec<u64> {
        v.split(|c: char| !c.is_ascii_digit())
            .take_while(|p| !p.is_empty())
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    (numbers(release) < numbers(least)).then(|| format!("needs Linux {least} or later (this kernel is {release})"))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kernel_too_old_is_named_with_both_versions() {
        assert_eq!(too_old("5.19", "6.18.44-fc-v669"), None);
        assert_eq!(too_old("5.19", "5.19.0"), None);
        let why = too_old("5.19", "5.15.0-91-generic").unwrap();
        assert!(
            why.contains("Linux 5.19 or later") && why.contains("5.15.0-91-generic"),
            "{why}"
        );
        assert!(too_old("6.2", "6.1.2").is_some());
    }

    #[test]
    fn a_probe_says_why() {
        let r = |probe: &str| Requires {
            probe: Some(probe.into()),
            ..Requires::default()
        };
        assert_eq!(r("true").unmet(Ok(())), None);
        assert_eq!(
            r("sh -c 'echo; echo io_uring is disabled here >&2; exit 1'").unmet(Ok(())),
            Some("io_uring is disabled here".into())
        );
        assert!(r("false").unmet(Ok(())).unwrap().contains("its probe `false` failed"));
    }
}

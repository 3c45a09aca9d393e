//! What ran: each strategy's program version and the repository's commit, for results.json.

use crate::manifest::Strategy;
use std::path::Path;
use std::process::Command;

/// The version of the program `s` runs: the first line its manifest's `version` command prints,
/// or, for a strategy built here, the commit it was built from.
pub fn program_version(s: &Strategy, commit: Option<&str>) -> String {
    let own = strategy_version(s, commit);
    match &s.worker_version {
        Some(cmd) => format!("{own}; worker {}: {}", s.worker_name, first_line(cmd)),
        None => own,
    }
}

fn strategy_version(s: &Strategy, commit: Option<&str>) -> String {
    let Some(cmd) = &s.version else {
        return match (&s.build, commit) {
            (Some(_), Some(c)) => format!("built from this repository ({c})"),
            _ => "unknown: its manifest has no version command".into(),
        };
    };
    first_line(cmd)
}

/// The first line `cmd` prints (on stdout or stderr).
fn first_line(cmd: &str) -> String {
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
pub fn git_commit(root: &Path) -> Option<String> {
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

//! Before a sweep: the strategies the profile names, those that can run here (the others skipped
//! with the reason), each distinct build run once.

use crate::manifest::{Layout, Strategy};
use crate::sandbox;
use anyhow::{bail, Context, Result};
use model::results::Skipped;
use std::path::Path;
use std::process::Command;

/// Keeps the strategies the config names (all when it names none); unknown names are an error.
pub fn select(all: Vec<Strategy>, wanted: &[String]) -> Result<Vec<Strategy>> {
    select_with_workers(all, wanted, None)
}

/// Keeps what `[sweep] strategies` and `workers` ask for: a strategy that fronts workers runs
/// with each worker of `workers` (all when empty), a strategy that is its own worker runs when
/// its worker is among them, and a name given in full (`nginx+node`, `node-cluster-rr`) always
/// runs. Without `workers`: the default workers when no strategy is named, else only the names.
/// Unknown names of either kind are an error that lists the known ones.
pub fn select_with_workers(all: Vec<Strategy>, wanted: &[String], workers: Option<&[String]>) -> Result<Vec<Strategy>> {
    let known: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    if let Some(bad) = wanted.iter().find(|w| !known.contains(&w.as_str())) {
        bail!("unknown strategy {bad:?}; known strategies: {}", known.join(", "));
    }
    let defaults: Vec<String> = model::config::DEFAULT_WORKERS.iter().map(|w| w.to_string()).collect();
    // The defaults need not all be here (a servers directory without Node strategies or workers);
    // a worker the profile names must.
    let (workers, named): (&[String], bool) = match workers {
        Some(w) => (w, true),
        None if wanted.is_empty() => (&defaults, false),
        None => return Ok(all.into_iter().filter(|s| wanted.contains(&s.name)).collect()),
    };
    let mut known_workers: Vec<&str> = all.iter().map(|s| s.worker_name.as_str()).collect();
    known_workers.sort();
    known_workers.dedup();
    if let Some(bad) = workers
        .iter()
        .filter(|_| named)
        .find(|w| !known_workers.contains(&w.as_str()))
    {
        bail!(
            "unknown worker {bad:?} in [sweep] workers; known workers: {} (a worker is a directory \
             under workers/ with a worker.toml)",
            known_workers.join(", ")
        );
    }
    let worker_wanted = |s: &Strategy| workers.is_empty() || workers.contains(&s.worker_name);
    Ok(all
        .into_iter()
        .filter(|s| {
            if wanted.contains(&s.name) {
                return true;
            }
            let named = match s.worker.takes {
                Some(_) => wanted.is_empty() || wanted.iter().any(|w| s.fronted_by(w)),
                None => wanted.is_empty(),
            };
            named && worker_wanted(s)
        })
        .collect())
}

/// Splits strategies into runnable ones and skipped ones (with the reason).
pub fn available(all: Vec<Strategy>) -> (Vec<Strategy>, Vec<Skipped>) {
    let isolation = sandbox::isolation();
    let (mut ok, mut skipped) = (Vec::new(), Vec::new());
    for s in all {
        match s.unavailable(isolation.available()) {
            None => ok.push(s),
            Some(reason) => skipped.push(Skipped::new(s.name, reason)),
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
            Some(reason) => skipped.push(Skipped::new(s.name, format!("build failed: {reason}"))),
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

//! Helpers for tests that start strategies for real. A dev-dependency only: nothing here ships.
//!
//! Tests that need a program, root or several CPUs are [`trial`]s: outside CI the test runner
//! reports them ignored with the missing requirement; in CI (`CI` set) they always run, and a
//! missing requirement fails them, so CI can never pass by skipping.

pub mod contract;
pub mod http;
pub mod manifest;
pub mod netns;
pub mod procs;
pub mod recovery;
pub mod running;
pub mod steering;

pub use http::{get_close, worker_of};
pub use procs::{children_of, descendants, gone, output_within, wait_for};
pub use running::{Answering, Running};

pub use libtest_mimic::Trial;
use libtest_mimic::{Arguments, Completion};

/// What a test needs from the machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    pub root: bool,
    /// Programs that must be on PATH.
    pub programs: &'static [&'static str],
    /// CPUs this process may run on.
    pub cpus: usize,
}

impl Needs {
    pub const NOTHING: Needs = Needs {
        root: false,
        programs: &[],
        cpus: 0,
    };

    pub fn programs(programs: &'static [&'static str]) -> Needs {
        Needs {
            programs,
            ..Needs::NOTHING
        }
    }

    /// What is missing here, in words; `None` when everything is.
    pub fn unmet(&self) -> Option<String> {
        let mut missing: Vec<String> = self
            .programs
            .iter()
            .filter(|p| which(p).is_none())
            .map(|p| format!("{p} on PATH"))
            .collect();
        if self.root && !nix::unistd::geteuid().is_root() {
            missing.push("root".into());
        }
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        if cpus < self.cpus {
            missing.push(format!("{} CPUs (this machine lets us use {cpus})", self.cpus));
        }
        (!missing.is_empty()).then(|| format!("needs {}", missing.join(", ")))
    }
}

/// Whether this is a CI run, where nothing may be skipped.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The full path of `program` on PATH.
pub fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// A test that runs `body` (which asserts) when `needs` are met. Unmet outside CI: reported
/// ignored, with the reason. Unmet in CI: failed, with the reason.
pub fn trial(name: impl Into<String>, needs: Needs, body: impl FnOnce() + Send + 'static) -> Trial {
    trial_unless(name, needs.unmet(), body)
}

/// Like [`trial`], for a requirement judged by the caller: `unmet` says what is missing.
pub fn trial_unless(name: impl Into<String>, unmet: Option<String>, body: impl FnOnce() + Send + 'static) -> Trial {
    Trial::ignorable_test(name, move || match unmet {
        Some(why) if in_ci() => Err(format!("CI must provide what this test {why}").into()),
        Some(why) => Ok(Completion::ignored_with(why)),
        None => {
            body();
            Ok(Completion::Completed)
        }
    })
}

/// The main of a test binary made of [`trial`]s (`harness = false` in Cargo.toml).
pub fn run_trials(trials: Vec<Trial>) -> ! {
    libtest_mimic::run(&Arguments::from_args(), trials).exit()
}

/// Like [`run_trials`], `at_once` trials at a time unless `--test-threads` says otherwise: for
/// trials that mostly wait (a cell starting, a short window) and assert no level or speed, so
/// that more of them than there are CPUs costs time only, not a verdict.
pub fn run_trials_at_once(trials: Vec<Trial>, at_once: usize) -> ! {
    let mut args = Arguments::from_args();
    args.test_threads.get_or_insert(at_once);
    libtest_mimic::run(&args, trials).exit()
}

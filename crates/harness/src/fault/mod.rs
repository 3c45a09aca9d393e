//! Faults under load: at a set time inside a cell's measured window one worker is killed
//! (SIGKILL), told to exit (SIGTERM), or hung (SIGSTOP, SIGCONT after a while), or the whole
//! strategy is reloaded; what that cost is read off the run's timeline.
//!
//! Worker k is found without knowing the strategy, by the convention every strategy keeps: once
//! it serves, worker k names its process `lbbench-w<k>` (the harness's readiness check relies on
//! it too). A strategy whose workers do not is measured without the fault, and its cells say why.

pub mod analyse;
pub mod inject;

use crate::manifest::Strategy;
use model::fault::{FaultConfig, FaultKind, FaultReport};
use model::results::Skipped;
use std::time::Duration;

/// The report of a cell's fault: what the injector saw, and what the timeline shows.
pub fn report(fault: Option<&FaultConfig>, injected: inject::Injected, load: &model::load::LoadReport) -> FaultReport {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut r = FaultReport {
        kind: fault.map(|f| f.kind),
        worker: fault.filter(|f| f.kind != FaultKind::Reload).map(|f| f.worker),
        at_ms: injected.at.map(ms),
        note: injected.note,
        resumed_ms: injected.resumed.map(ms),
        respawned_ms: injected.respawned.map(ms),
        workers_replaced: injected.workers_replaced,
        replaced_ms: injected.replaced.map(ms),
        processes_ended: injected.processes_ended,
        processes_started: injected.processes_started,
        ..FaultReport::default()
    };
    if let (Some(at), Some(t)) = (r.at_ms, &load.timeline) {
        let after = r.resumed_ms.unwrap_or(at) + 1000.0;
        analyse::timeline(&mut r, t, at, after);
    }
    r
}

/// Keeps the strategies the fault applies to: a reload needs the manifest's `reload`.
pub fn select(fault: Option<&FaultConfig>, all: Vec<Strategy>, skipped: &mut Vec<Skipped>) -> Vec<Strategy> {
    let Some(f) = fault.filter(|f| f.kind == FaultKind::Reload) else {
        return all;
    };
    let (ok, no): (Vec<Strategy>, Vec<Strategy>) = all.into_iter().partition(|s| s.reload.is_some());
    for s in no {
        skipped.push(Skipped::new(
            s.name,
            format!(
                "no way to reload without downtime (its manifest has no `reload`), so no {} fault",
                f.kind
            ),
        ));
    }
    ok
}

/// What `lbbench list` says a strategy does about a dead worker and a reload.
pub fn recovery(s: &Strategy) -> String {
    let dead = if s.respawns {
        "replaces a dead worker"
    } else {
        "does not replace a dead worker"
    };
    let reload = match s.reload.as_deref() {
        Some(r) => match r.strip_prefix("signal:") {
            Some(sig) => format!("reloads on SIG{}", sig.trim().trim_start_matches("SIG")),
            None => format!("reloads with `{}`", short_command(r)),
        },
        None => "no reload".into(),
    };
    format!("{dead}; {reload}")
}

/// A command with the directories of its program left out: "pm2 reload hello".
fn short_command(cmd: &str) -> String {
    let mut words: Vec<&str> = cmd.split_whitespace().collect();
    if let Some(first) = words.first_mut() {
        *first = first.rsplit('/').next().unwrap_or(first);
    }
    words.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(kind: FaultKind, at: u64, duration: Option<u64>) -> FaultConfig {
        FaultConfig {
            kind,
            at: Duration::from_millis(at),
            worker: 0,
            duration: duration.map(Duration::from_millis),
        }
    }

    #[test]
    fn checks_say_what_to_write() {
        let (w, i) = (Duration::from_secs(4), Duration::from_millis(100));
        assert!(cfg(FaultKind::Kill, 2000, None).check(w, i, 1).is_ok());
        let late = cfg(FaultKind::Kill, 4000, None).check(w, i, 1).unwrap_err();
        assert!(late.contains("fault.at") && late.contains("load.duration"), "{late}");
        assert!(
            cfg(FaultKind::Kill, 100, None).check(w, i, 1).is_err(),
            "no interval before it"
        );
        let stop = cfg(FaultKind::Stop, 1000, None).check(w, i, 1).unwrap_err();
        assert!(stop.contains("fault.duration"), "{stop}");
        assert!(cfg(FaultKind::Stop, 1000, Some(500)).check(w, i, 1).is_ok());
        assert!(cfg(FaultKind::Term, 1000, Some(500)).check(w, i, 1).is_err());
        let k = FaultConfig {
            worker: 2,
            ..cfg(FaultKind::Kill, 1000, None)
        };
        assert!(k.check(w, i, 2).unwrap_err().contains("fault.worker"));
    }

    #[test]
    fn commands_are_shown_without_their_directories() {
        assert_eq!(
            short_command("/x/node_modules/.bin/pm2 reload hello"),
            "pm2 reload hello"
        );
    }
}

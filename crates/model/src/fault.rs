//! A fault injected into a cell's window: the profile's `[fault]`, and what it cost.

use crate::load::ErrorCounts;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The `[fault]` section of a profile.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultConfig {
    pub kind: FaultKind,
    /// When, from the opening of the measured window.
    #[serde(with = "humantime_serde")]
    pub at: Duration,
    /// Which worker (kill, term, stop): worker k of the strategy's N.
    #[serde(default)]
    pub worker: usize,
    /// stop: how long the worker stays stopped before SIGCONT.
    #[serde(default, with = "humantime_serde", skip_serializing_if = "Option::is_none")]
    pub duration: Option<Duration>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum FaultKind {
    /// SIGKILL one worker: a crash.
    Kill,
    /// SIGTERM one worker: a graceful exit.
    Term,
    /// SIGSTOP one worker for `duration`, then SIGCONT: a hung worker.
    Stop,
    /// The strategy's own reload (its manifest's `reload`): every worker replaced, no downtime meant.
    Reload,
}

crate::names::display_as_serde!(FaultKind);

impl FaultConfig {
    /// Checks the section against the window it falls in, the timeline's interval and the
    /// fewest workers of the sweep.
    pub fn check(&self, window: Duration, interval: Duration, min_workers: usize) -> Result<(), String> {
        if self.at < interval * 2 || self.at >= window {
            return Err(format!(
                "fault.at ({:?}) must leave at least two timeline intervals ({:?} each, load.interval) \
                 before it and fall inside the measured window (load.duration = {window:?}), e.g. \"{}s\"",
                self.at,
                interval,
                (window.as_secs() / 2).max(1)
            ));
        }
        match (self.kind, self.duration) {
            (FaultKind::Stop, None) | (FaultKind::Stop, Some(Duration::ZERO)) => {
                return Err("fault.duration: a stop fault needs how long the worker stays stopped, e.g. \"2s\"".into())
            }
            (FaultKind::Stop, Some(_)) => {}
            (_, Some(_)) => return Err("fault.duration applies only to kind = \"stop\"".into()),
            _ => {}
        }
        if self.kind == FaultKind::Reload && self.worker != 0 {
            return Err("fault.worker does not apply to a reload, which replaces every worker".into());
        }
        if self.worker >= min_workers {
            return Err(format!(
                "fault.worker = {} but the smallest cell of the sweep has {min_workers} worker(s), numbered from 0",
                self.worker
            ));
        }
        Ok(())
    }
}

/// What one fault cost a cell.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FaultReport {
    pub kind: Option<FaultKind>,
    /// The worker signalled (none for a reload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<usize>,
    /// When it was injected, from the window's opening, as measured (ms); none when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ms: Option<f64>,
    /// Why it was not injected, or what went wrong with it (a reload command that failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// stop: when SIGCONT was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_ms: Option<f64>,
    /// From the interval of the fault to the window's end: requests failed, by kind.
    pub errors: ErrorCounts,
    pub non_2xx: u64,
    /// Requests sent and never answered (reset, closed early or timed out): lost in flight.
    pub lost_in_flight: u64,
    /// 2xx per second before the fault (median of its intervals).
    pub baseline_rps: f64,
    /// The lowest throughput of an interval from the fault to the recovery, as a share of the
    /// baseline.
    pub dip: f64,
    /// From the fault until throughput is back within 10 % of the baseline and stays there for
    /// half a second; none when it was not within the window.
    pub recovery_ms: Option<f64>,
    /// p99 of the intervals before the fault (their median), and of the second after it (for a
    /// stop: until a second after SIGCONT; the worst of its intervals: an upper bound of that
    /// time's p99), µs.
    pub p99_before_us: u64,
    pub p99_fault_us: u64,
    /// The slowest response of that time, µs: a few requests held by a hung worker show here
    /// when thousands answered by the others keep them out of the p99.
    #[serde(default)]
    pub max_fault_us: u64,
    /// kill, term: when a new process named `lbbench-w<k>` appeared, from the fault; none when
    /// the worker was not replaced within the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respawned_ms: Option<f64>,
    /// reload: workers whose process was replaced by the window's end, and when the last was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers_replaced: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_ms: Option<f64>,
    /// reload: processes of the strategy that ended, and that started, between the reload and
    /// the window's end (a front program's own workers, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes_ended: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub processes_started: Option<usize>,
    /// Workers that answered in the window's last second.
    pub serving_at_end: usize,
}

impl FaultReport {
    /// Requests failed (errors and non-2xx answers) from the fault on.
    pub fn failed(&self) -> u64 {
        self.errors.total() + self.non_2xx
    }
}

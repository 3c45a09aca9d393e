//! Capacity under a latency objective: the profile's `[slo]` and what a search found.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SloConfig {
    /// The target: corrected p99 at most this. None: no capacity search.
    #[serde(with = "humantime_serde")]
    pub p99: Option<Duration>,
    /// At most this share of requests may get non-2xx or fail.
    pub max_failed: f64,
    /// Measured window of each probe.
    #[serde(with = "humantime_serde")]
    pub step: Duration,
    /// Load before each probe's window.
    #[serde(with = "humantime_serde")]
    pub warmup: Duration,
    /// At most this many probes per cell.
    pub max_steps: usize,
    /// The first probe, as a fraction of the cell's closed-loop maximum.
    pub start: f64,
    /// Stop halving once the gap between a rate that meets the target and one that misses is
    /// this fraction of the first.
    pub precision: f64,
}

impl Default for SloConfig {
    fn default() -> Self {
        SloConfig {
            p99: None,
            max_failed: 0.001,
            step: Duration::from_secs(1),
            warmup: Duration::from_millis(300),
            max_steps: 8,
            start: 0.25,
            precision: 0.05,
        }
    }
}

impl SloConfig {
    pub fn check(&self) -> Result<(), String> {
        if self.p99.is_some_and(|p| p.is_zero()) {
            return Err("slo.p99 must be positive, e.g. \"10ms\"".into());
        }
        if !(0.0..1.0).contains(&self.max_failed) {
            return Err("slo.max_failed is a share of requests, in [0, 1), e.g. 0.001".into());
        }
        if self.max_steps < 2 || self.step.is_zero() {
            return Err("slo.max_steps must be at least 2 and slo.step positive".into());
        }
        if !(self.start > 0.0 && self.start <= 2.0 && self.precision > 0.0 && self.precision < 1.0) {
            return Err("slo.start is a fraction of the closed-loop maximum in (0, 2]; slo.precision in (0, 1)".into());
        }
        Ok(())
    }

    /// The longest a search can take.
    pub fn time_limit(&self, request_timeout: Duration) -> Duration {
        (self.warmup + self.step + request_timeout) * self.max_steps as u32
    }
}

/// One probe: an open-loop run at `rate`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    pub rate: f64,
    pub p99_us: u64,
    pub failed_share: f64,
    pub rate_reached: bool,
    #[serde(default)]
    pub client_late: bool,
    /// Met the target: rate reached, p99 and failures within bounds.
    pub ok: bool,
}

/// The outcome of a search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub target_p99_us: u64,
    /// The highest probed rate that met the target; None when none did.
    pub rps: Option<f64>,
    /// The server may take more: the search stopped at its upper bound (twice the closed-loop
    /// maximum) without a miss, or the rate it missed at was one the client could not keep.
    pub at_least: bool,
    /// The miss that bounded the search was the client's (it could not keep the schedule).
    #[serde(default)]
    pub client_limited: bool,
    pub probes: Vec<Probe>,
}

impl Capacity {
    /// The lowest rate above the capacity that the server missed with the client on schedule: a
    /// client-limited capacity is below it all the same.
    pub fn server_missed_at(&self) -> Option<f64> {
        let above = self.rps.unwrap_or(0.0);
        self.probes
            .iter()
            .filter(|p| !p.ok && !p.client_late && p.rate > above)
            .map(|p| p.rate)
            .min_by(f64::total_cmp)
    }
}

#[cfg(test)]
mod tests {
    use super::{Capacity, Probe};

    fn probe(rate: f64, ok: bool, client_late: bool) -> Probe {
        Probe {
            rate,
            p99_us: 0,
            failed_share: 0.0,
            rate_reached: !client_late,
            client_late,
            ok,
        }
    }

    #[test]
    fn a_server_miss_above_a_client_limited_capacity_bounds_it() {
        // nginx on 2026-12-07: 3,953 met, 4,612 missed by the server, 4,283 not paced.
        let mut c = Capacity {
            target_p99_us: 15_000,
            rps: Some(3953.0),
            at_least: true,
            client_limited: true,
            probes: vec![
                probe(2635.0, true, false),
                probe(5271.0, false, false),
                probe(3953.0, true, false),
                probe(4612.0, false, false),
                probe(4283.0, false, true),
            ],
        };
        assert_eq!(c.server_missed_at(), Some(4612.0));
        c.probes.retain(|p| p.ok || p.client_late);
        assert_eq!(c.server_missed_at(), None, "only the client's misses: no bound");
    }
}

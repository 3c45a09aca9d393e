//! The merged result of one load run, as stored in results.json and printed by `lbbench load`.

use crate::histogram::Histograms;
use crate::timeline::TimelineReport;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The connection could not be made (refused, unreachable).
    Connect,
    /// Reset, or closed before the response was whole.
    Reset,
    /// No answer within the request timeout.
    Timeout,
    /// The answer was not HTTP/1.x.
    Protocol,
}

/// Failed requests by kind.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct ErrorCounts {
    pub connect: u64,
    pub reset: u64,
    pub timeout: u64,
    pub protocol: u64,
}

impl ErrorCounts {
    pub fn total(&self) -> u64 {
        self.connect + self.reset + self.timeout + self.protocol
    }

    pub fn add(&mut self, kind: ErrorKind) {
        match kind {
            ErrorKind::Connect => self.connect += 1,
            ErrorKind::Reset => self.reset += 1,
            ErrorKind::Timeout => self.timeout += 1,
            ErrorKind::Protocol => self.protocol += 1,
        }
    }

    pub fn add_all(&mut self, other: &ErrorCounts) {
        self.connect += other.connect;
        self.reset += other.reset;
        self.timeout += other.timeout;
        self.protocol += other.protocol;
    }
}

/// "2 connect failures, 1 timeout" (or "none"), for people.
impl std::fmt::Display for ErrorCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kinds = [
            (self.connect, "connect failure", "connect failures"),
            (self.reset, "reset or early close", "resets or early closes"),
            (self.timeout, "timeout", "timeouts"),
            (self.protocol, "malformed response", "malformed responses"),
        ];
        let parts: Vec<String> = kinds
            .iter()
            .filter(|(n, _, _)| *n > 0)
            .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
            .collect();
        if parts.is_empty() {
            f.write_str("none")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
}

impl Percentiles {
    pub fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

/// The merged result of one load run. `sent = ok + non-2xx + errors + in_flight_at_end`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct LoadReport {
    pub connections: usize,
    pub threads: usize,
    pub duration_s: f64,
    pub sent: u64,
    /// Complete responses, any status.
    pub requests: u64,
    pub ok: u64,
    /// Responses by status, for every status outside 2xx.
    #[serde(with = "crate::serde_keys")]
    pub non_2xx: BTreeMap<u16, u64>,
    pub errors: u64,
    pub error_kinds: ErrorCounts,
    /// Requests still unanswered when the window closed: neither counted as served nor as failed.
    pub in_flight_at_end: u64,
    /// Open loop: requests due in the window but not sent before it closed. Every request due
    /// is accounted: `sent + not_sent_in_time` of them, and `sent = ok + non-2xx + errors +
    /// in_flight_at_end`.
    #[serde(default)]
    pub not_sent_in_time: u64,
    /// 2xx responses per second of the measured window: a fast error is not throughput.
    pub rps: f64,
    pub latency_us: Percentiles,
    pub per_worker: BTreeMap<String, u64>,
    /// Mean share of each client thread's wall time spent on CPU.
    pub client_cpu_busy: f64,
    /// Busy share of each client CPU over the window, by CPU number (from /proc/stat: whatever
    /// ran there, softirq included).
    #[serde(default, with = "crate::serde_keys")]
    pub client_cpus_busy: BTreeMap<usize, f64>,
    /// The client, not the server, may have been the limit: some client thread was on a CPU or
    /// waiting for one ≥ 90 % of the time, never waiting on the server.
    pub client_saturated: bool,
    /// Open loop (`--rate`): the offered rate asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_rps: Option<f64>,
    /// Open loop: requests actually sent per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub achieved_rps: Option<f64>,
    /// Open loop: false when fewer than 95 % of the scheduled requests could be sent, or when
    /// more than 1 % of them left over 1 ms late with their connection free (`late_by_client`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_reached: Option<bool>,
    /// Open loop: sends that left more than 1 ms after they were due although their connection
    /// was free by then — late because the client could not keep its schedule, not the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_by_client: Option<u64>,
    /// Open loop: latency from the actual send, without the coordinated-omission correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncorrected_latency_us: Option<Percentiles>,
    /// Open loop: how late requests left compared with their schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_lag_us: Option<Percentiles>,
    /// Open loop: how the client's pacing timers kept their deadlines, and whose fault the late
    /// sends were.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pacing: Option<Pacing>,
    /// The histograms the percentiles above come from, whole.
    #[serde(default)]
    pub histograms: Histograms,
    /// The same figures interval by interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeline: Option<TimelineReport>,
    /// The client threads' CPU time over the window, s (on a CPU; from their schedstat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cpu_s: Option<f64>,
    /// Stopped early (Ctrl-C on `lbbench load`): the window is the part measured before it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
}

impl LoadReport {
    /// The busiest client CPU: the client is saturated when one of its CPUs is, however idle the
    /// others are.
    pub fn client_cpu_util(&self) -> f64 {
        self.client_cpus_busy.values().cloned().fold(0.0, f64::max)
    }

    /// Sets every percentile from the stored histograms (results written before histograms
    /// were stored keep theirs).
    pub fn recompute_percentiles(&mut self) {
        let h = &self.histograms;
        if h.latency.0.is_empty() {
            return;
        }
        self.latency_us = Percentiles::of(&h.latency.0);
        if let Some(u) = &h.uncorrected {
            self.uncorrected_latency_us = Some(Percentiles::of(&u.0));
        }
        if let Some(l) = &h.send_lag {
            self.send_lag_us = Some(Percentiles::of(&l.0));
        }
    }

    /// Non-2xx responses and errors as a share of everything sent (0 when nothing was).
    pub fn failed_share(&self) -> f64 {
        let bad = self.non_2xx.values().sum::<u64>() + self.errors;
        if self.sent == 0 {
            0.0
        } else {
            bad as f64 / self.sent as f64
        }
    }
}

impl LoadReport {
    /// Open loop: the client could not keep its schedule. Either more than
    /// [`CLIENT_LATE_SHARE`] of the sends left late with their connection free, or the client
    /// was saturated and sends lagged: a client too busy to read answers in time holds its
    /// connections busy, so its lateness then looks like the server's.
    pub fn client_lagged(&self) -> bool {
        let late = self.late_by_client.unwrap_or(0) as f64 > CLIENT_LATE_SHARE * self.sent as f64;
        let lag_p99 = self.send_lag_us.as_ref().map_or(0, |l| l.p99);
        late || (self.client_saturated && lag_p99 > CLIENT_LATE.as_micros() as u64)
    }

    /// Open loop: whose limit a step that missed its offered rate met (None when it was reached).
    pub fn miss(&self) -> Option<Miss> {
        if self.rate_reached != Some(false) {
            return None;
        }
        Some(if self.client_saturated {
            Miss::ClientSaturated
        } else if self.woke_late() {
            Miss::WokeLate
        } else if self.client_lagged() {
            Miss::ClientWork
        } else {
            Miss::Server
        })
    }

    /// Open loop: why the offered rate was not reached, for people (None when it was).
    pub fn rate_missed(&self) -> Option<String> {
        let miss = self.miss()?;
        let (target, sent) = (self.target_rps.unwrap_or(0.0), self.achieved_rps.unwrap_or(0.0));
        let waiting = self.pacing.as_ref().map_or(0, |p| p.late_by_server);
        Some(if miss == Miss::ClientSaturated {
            let busy = format!(
                "the client was saturated (its CPU {:.0} % busy)",
                self.client_cpu_util() * 100.0
            );
            if waiting == 0 {
                busy
            } else {
                // The server may have been at its limit too, but a saturated client also reads
                // answers late, so their wait is not evidence either way.
                format!(
                    "{busy}; {waiting} sends over {} ms late waited for an answer to the one before, which \
                     a saturated client cannot tell from an answer it read late",
                    CLIENT_LATE.as_millis()
                )
            }
        } else if miss != Miss::Server {
            self.late_sends()
                .unwrap_or_else(|| "the client fell behind its schedule".into())
        } else {
            format!(
                "the server: {sent:.0} of {target:.0} req/s sent, its connections busy \
                 ({waiting} sends over {} ms late waiting for an answer)",
                CLIENT_LATE.as_millis()
            )
        })
    }

    /// Open loop: whose fault the sends late by the client were, for people.
    pub fn late_sends(&self) -> Option<String> {
        let late = self.late_by_client.filter(|&n| n > 0)?;
        let by_wakeup = self.pacing.as_ref().map_or(0, |p| p.late_by_wakeup);
        Some(format!(
            "{late} sends over {} ms late with their connection free: {by_wakeup} woke late (the timer, \
             an idle CPU, steal or other work), {} woke in time and waited for the client's own work",
            CLIENT_LATE.as_millis(),
            late - by_wakeup
        ))
    }

    /// Open loop: the client fell behind its schedule because its wake-ups came late, not because
    /// it was busy: the machine's doing, and the window is worth measuring again.
    pub fn woke_late(&self) -> bool {
        let by_wakeup = self.pacing.as_ref().map_or(0, |p| p.late_by_wakeup);
        self.client_lagged() && !self.client_saturated && 2 * by_wakeup > self.late_by_client.unwrap_or(0)
    }
}

/// Open loop: whose limit a step that missed its offered rate met.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Miss {
    /// The client's CPU was saturated.
    ClientSaturated,
    /// The client fell behind because its wake-ups came late: the machine's doing.
    WokeLate,
    /// The client fell behind by its own work after wake-ups that came in time.
    ClientWork,
    /// The client kept its schedule; its connections waited for the server's answers.
    Server,
}

impl Miss {
    /// For people, in a list of counts ("3 the server's limit").
    pub fn label(self) -> &'static str {
        match self {
            Miss::ClientSaturated => "the client's CPU saturated",
            Miss::WokeLate => "the client's wake-ups late (the machine's)",
            Miss::ClientWork => "the client's own work",
            Miss::Server => "the server's limit",
        }
    }
}

/// Open loop: the pacing timers over the measured window. Each client thread paces its
/// connections with one timer; a wake-up's lateness is how long after the due time it was armed
/// for the thread's pacing task ran: the timer's slack, the CPU's way out of an idle state,
/// steal, other processes on that CPU, and the thread's own work on its other connections (the
/// window's noise and the client's busy share tell those apart).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Pacing {
    /// The timers' wake-ups in the window.
    pub wakeups: u64,
    /// How late they were, µs.
    pub lateness_us: Percentiles,
    /// Wake-ups more than [`CLIENT_LATE`] late.
    pub late_wakeups: u64,
    /// Of `late_by_client`: the sends whose wake-up itself came over [`CLIENT_LATE`] after they
    /// were due; the others woke in time and were held up by the client's work after it.
    pub late_by_wakeup: u64,
    /// Sends over [`CLIENT_LATE`] late whose connection was still waiting for the server's
    /// answer to the one before for most of it: the server's doing. Absent (files written
    /// before it was counted, and windows with none): 0.
    #[serde(default, skip_serializing_if = "crate::is_default")]
    pub late_by_server: u64,
    /// Every pacing thread ran at real-time priority (SCHED_FIFO), so that other work on its CPU
    /// could not hold up its wake-ups. Absent: at normal priority (refused, not asked for, or
    /// files written before it was tried).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub realtime: bool,
}

/// Above this share of non-2xx responses and errors, a cell's figures are flagged.
pub const FAILED_SHARE: f64 = 0.01;

/// A rate below this share of the target counts as not reached.
pub const RATE_REACHED: f64 = 0.95;

/// A send this late with its connection free was held up by the client itself...
pub const CLIENT_LATE: std::time::Duration = std::time::Duration::from_millis(1);
/// ...and when more than this share of sends were, the client did not keep the schedule.
pub const CLIENT_LATE_SHARE: f64 = 0.01;

pub const SATURATED: f64 = 0.90;

#[cfg(test)]
mod tests {
    use super::*;

    fn open(rate_reached: bool) -> LoadReport {
        LoadReport {
            sent: 1000,
            target_rps: Some(1000.0),
            achieved_rps: Some(900.0),
            rate_reached: Some(rate_reached),
            late_by_client: Some(0),
            ..LoadReport::default()
        }
    }

    #[test]
    fn a_missed_rate_names_whose_limit_it_met() {
        assert_eq!(open(true).rate_missed(), None);
        let mut busy = open(false);
        busy.pacing = Some(Pacing {
            late_by_server: 30,
            ..Pacing::default()
        });
        let server = busy.rate_missed().unwrap();
        assert!(
            server.starts_with("the server: 900 of 1000") && server.contains("30 sends over 1 ms late waiting"),
            "{server}"
        );
        let mut late = open(false);
        late.late_by_client = Some(50);
        late.pacing = Some(Pacing {
            late_by_wakeup: 40,
            ..Pacing::default()
        });
        let why = late.rate_missed().unwrap();
        assert!(
            why.contains("50 sends") && why.contains("40 woke late") && why.contains("10 woke in time"),
            "{why}"
        );
        assert!(late.woke_late(), "most of them woke late: the machine's");
        assert_eq!(late.miss(), Some(Miss::WokeLate));
        assert_eq!((busy.miss(), open(true).miss()), (Some(Miss::Server), None));
        late.pacing = Some(Pacing {
            late_by_wakeup: 10,
            ..Pacing::default()
        });
        assert_eq!(late.miss(), Some(Miss::ClientWork), "most woke in time");
        late.client_saturated = true;
        assert!(late.rate_missed().unwrap().starts_with("the client was saturated"));
        assert!(
            !late.rate_missed().unwrap().contains("waited"),
            "no send waited for the server"
        );
        assert!(!late.woke_late(), "a saturated client is late by its own work");
        assert_eq!(late.miss(), Some(Miss::ClientSaturated));
        busy.client_saturated = true;
        let both = busy.rate_missed().unwrap();
        assert!(
            both.starts_with("the client was saturated") && both.contains("30 sends over 1 ms late waited"),
            "{both}"
        );
    }
}

//! Per-thread statistics (owned by one thread, no locks) and the merged report.

use crate::timeline::{self, Timeline};
use hdrhistogram::Histogram;
use model::histogram::{histogram, Stored};
use model::load::{ErrorCounts, ErrorKind, LoadReport, Pacing, Percentiles, CLIENT_LATE, RATE_REACHED, SATURATED};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Instant;

/// What one thread observed in the measured window. Serializable, so a load host can send its
/// threads' statistics whole and the controller merges every host's threads as one run's.
#[derive(Clone, Serialize, Deserialize)]
pub struct ThreadStats {
    /// From the intended send time (open loop) or the send (closed loop, where they are the same).
    #[serde(with = "model::histogram::v2")]
    pub latency: Histogram<u64>,
    /// Open loop only: from the actual send, as a client without the correction would report.
    #[serde(with = "model::histogram::v2::option")]
    pub uncorrected: Option<Histogram<u64>>,
    /// Open loop only: how late each request left compared with its schedule.
    #[serde(with = "model::histogram::v2::option")]
    pub send_lag: Option<Histogram<u64>>,
    pub sent: u64,
    pub ok: u64,
    pub non_2xx: BTreeMap<u16, u64>,
    pub errors: ErrorCounts,
    pub in_flight_at_end: u64,
    /// Open loop: due in the window, but not sent before it closed.
    pub not_sent_in_time: u64,
    /// Open loop: sends that left more than [`CLIENT_LATE`] after they were due although their
    /// connection was free by then: late because of the client, not the server.
    pub late_by_client: u64,
    /// Of those, the sends whose timer wake-up itself came over [`CLIENT_LATE`] after they were
    /// due (or after their connection was free).
    #[serde(default)]
    pub late_by_wakeup: u64,
    /// Open loop: sends more than [`CLIENT_LATE`] late because their connection was still
    /// waiting for the server's answer to the one before: the server's doing, not the client's.
    #[serde(default)]
    pub late_by_server: u64,
    /// Open loop only: how late the pacing timer's wake-ups were (see `pacer::Schedule`).
    #[serde(default, with = "model::histogram::v2::option")]
    pub wakeups: Option<Histogram<u64>>,
    /// Responses per `X-Worker` value; a handful of workers, so a linear scan beats hashing.
    pub per_worker: Vec<(Box<[u8]>, u64)>,
    /// Share of wall time on a CPU.
    pub cpu_busy: f64,
    /// Share of wall time on a CPU or waiting in the run queue for one: near 1 when the thread
    /// never waited on the network, however much other processes took of its CPU.
    pub cpu_wanted: f64,
    /// This thread's time on a CPU over the measured window, s (its schedstat, in ns).
    #[serde(default)]
    pub window_cpu_s: f64,
    /// The same, interval by interval.
    pub timeline: Option<Timeline>,
    /// Open loop: this thread paced at real-time priority.
    #[serde(default)]
    pub realtime: bool,
}

impl ThreadStats {
    pub fn new(open_loop: bool) -> Self {
        ThreadStats {
            latency: histogram(),
            uncorrected: open_loop.then(histogram),
            send_lag: open_loop.then(histogram),
            sent: 0,
            ok: 0,
            non_2xx: BTreeMap::new(),
            errors: ErrorCounts::default(),
            in_flight_at_end: 0,
            not_sent_in_time: 0,
            late_by_client: 0,
            late_by_wakeup: 0,
            late_by_server: 0,
            wakeups: None,
            per_worker: Vec::new(),
            cpu_busy: 0.0,
            cpu_wanted: 0.0,
            window_cpu_s: 0.0,
            timeline: None,
            realtime: false,
        }
    }

    /// Keeps interval figures too.
    pub fn with_timeline(mut self, timeline: Timeline) -> Self {
        self.timeline = Some(timeline);
        self
    }

    /// Corrected and (open loop) uncorrected latency of one request.
    fn latencies(&mut self, corrected: u64, uncorrected: u64) {
        self.latency.saturating_record(corrected.max(1));
        if let Some(h) = &mut self.uncorrected {
            h.saturating_record(uncorrected.max(1));
        }
    }

    /// A request that timed out at `at`: an error, recorded at its timeout.
    pub fn timeout(&mut self, at: Instant, corrected: u64, uncorrected: u64) {
        self.error(at, ErrorKind::Timeout);
        self.latencies(corrected, uncorrected);
    }

    /// A request still unanswered when the window closed; `waited` (open loop) is recorded as
    /// the least latency it will have.
    pub fn unfinished(&mut self, waited: Option<u64>) {
        self.in_flight_at_end += 1;
        if let Some(w) = waited {
            self.latency.saturating_record(w.max(1));
        }
    }

    /// Open loop: a request due in the window that could not be sent before it closed, recorded
    /// at the least latency it would have had.
    pub fn not_sent(&mut self, waited: u64) {
        self.not_sent_in_time += 1;
        self.latency.saturating_record(waited.max(1));
    }

    /// A complete response at `at`, with its corrected and uncorrected latency.
    pub fn response(&mut self, at: Instant, status: u16, worker: Option<&[u8]>, corrected: u64, uncorrected: u64) {
        if let Some(t) = &mut self.timeline {
            t.response(at, status, worker, corrected);
        }
        self.latencies(corrected, uncorrected);
        if (200..300).contains(&status) {
            self.ok += 1;
        } else {
            *self.non_2xx.entry(status).or_default() += 1;
        }
        if let Some(w) = worker {
            match self.per_worker.iter_mut().find(|(k, _)| &**k == w) {
                Some((_, n)) => *n += 1,
                None => self.per_worker.push((w.into(), 1)),
            }
        }
    }

    /// Open loop: how late a request left, how much of that the client alone is to blame for
    /// (the part after its connection was free to send), and how much of that part passed
    /// before the timer woke the thread for it. A send late by more than [`CLIENT_LATE`] is the
    /// client's when that much came after its connection was free, else the server's.
    pub fn lag(&mut self, micros: u64, client_micros: u64, wakeup_micros: u64) {
        if let Some(h) = &mut self.send_lag {
            h.saturating_record(micros.max(1));
        }
        let late = CLIENT_LATE.as_micros() as u64;
        if client_micros > late {
            self.late_by_client += 1;
            self.late_by_wakeup += u64::from(wakeup_micros > late);
        } else if micros > late {
            self.late_by_server += 1;
        }
    }

    pub fn error(&mut self, at: Instant, kind: ErrorKind) {
        if let Some(t) = &mut self.timeline {
            t.error(at, kind);
        }
        self.errors.add(kind);
    }
}

/// The collector: folds every thread's statistics into one report. `target_rps`: open loop.
pub fn merge(mut parts: Vec<ThreadStats>, connections: usize, duration_s: f64, target_rps: Option<f64>) -> LoadReport {
    let timelines: Vec<Timeline> = parts.iter_mut().filter_map(|t| t.timeline.take()).collect();
    let threads = parts.len();
    let mut wanted: f64 = 0.0;
    let mut latency = histogram();
    let open = target_rps.is_some();
    let (mut uncorrected, mut send_lag) = (histogram(), histogram());
    let (mut late_by_client, mut late_by_wakeup, mut late_by_server, mut wakeups) = (0, 0, 0, histogram());
    let mut client_cpu_s = 0.0;
    let realtime = !parts.is_empty() && parts.iter().all(|t| t.realtime);
    let mut r = LoadReport {
        connections,
        threads,
        duration_s,
        timeline: timeline::merge(timelines),
        ..LoadReport::default()
    };
    for t in parts {
        latency.add(&t.latency).expect("histograms share bounds");
        if let (Some(u), Some(l)) = (&t.uncorrected, &t.send_lag) {
            uncorrected.add(u).expect("histograms share bounds");
            send_lag.add(l).expect("histograms share bounds");
        }
        r.sent += t.sent;
        r.ok += t.ok;
        for (s, n) in t.non_2xx {
            *r.non_2xx.entry(s).or_default() += n;
        }
        r.error_kinds.add_all(&t.errors);
        r.in_flight_at_end += t.in_flight_at_end;
        r.not_sent_in_time += t.not_sent_in_time;
        late_by_client += t.late_by_client;
        late_by_wakeup += t.late_by_wakeup;
        late_by_server += t.late_by_server;
        if let Some(w) = &t.wakeups {
            wakeups.add(w).expect("histograms share bounds");
        }
        for (w, n) in t.per_worker {
            *r.per_worker
                .entry(String::from_utf8_lossy(&w).into_owned())
                .or_default() += n;
        }
        r.client_cpu_busy += t.cpu_busy / threads as f64;
        client_cpu_s += t.window_cpu_s;
        wanted = wanted.max(t.cpu_wanted);
    }
    r.requests = r.ok + r.non_2xx.values().sum::<u64>();
    r.errors = r.error_kinds.total();
    r.client_cpu_s = Some(client_cpu_s);
    r.rps = if duration_s > 0.0 {
        r.ok as f64 / duration_s
    } else {
        0.0
    };
    r.latency_us = Percentiles::of(&latency);
    r.client_saturated = wanted >= SATURATED;
    if let (true, Some(target)) = (open, target_rps) {
        let achieved = if duration_s > 0.0 {
            r.sent as f64 / duration_s
        } else {
            0.0
        };
        r.target_rps = Some(target);
        r.achieved_rps = Some(achieved);
        r.late_by_client = Some(late_by_client);
        r.uncorrected_latency_us = Some(Percentiles::of(&uncorrected));
        r.send_lag_us = Some(Percentiles::of(&send_lag));
        r.pacing = Some(Pacing {
            wakeups: wakeups.len(),
            lateness_us: Percentiles::of(&wakeups),
            late_wakeups: wakeups
                .iter_recorded()
                .filter(|v| v.value_iterated_to() > CLIENT_LATE.as_micros() as u64)
                .map(|v| v.count_at_value())
                .sum(),
            late_by_wakeup,
            late_by_server,
            realtime,
        });
        r.rate_reached = Some(achieved >= RATE_REACHED * target && !r.client_lagged());
        r.histograms.uncorrected = Some(Stored(uncorrected));
        r.histograms.send_lag = Some(Stored(send_lag));
    }
    r.histograms.latency = Stored(latency);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_adds_counts_and_histograms() {
        let mut a = ThreadStats::new(false);
        a.sent = 3;
        let now = Instant::now();
        a.response(now, 200, Some(b"0"), 100, 100);
        a.response(now, 200, Some(b"1"), 300, 300);
        a.error(now, ErrorKind::Reset);
        let mut b = ThreadStats::new(false);
        b.sent = 2;
        b.response(now, 503, Some(b"1"), 200, 200);
        b.in_flight_at_end = 1;
        let r = merge(vec![a, b], 2, 2.0, None);
        assert_eq!(
            (r.sent, r.requests, r.ok, r.errors, r.in_flight_at_end),
            (5, 3, 2, 1, 1)
        );
        assert_eq!(r.sent, r.requests + r.errors + r.in_flight_at_end);
        assert_eq!(r.non_2xx[&503], 1);
        assert_eq!(r.per_worker["0"], 1);
        assert_eq!(r.per_worker["1"], 2);
        assert_eq!(r.rps, 1.0, "2xx only: 2 in 2 s");
        assert_eq!(r.latency_us.max, 300);
        assert!(r.latency_us.p50 >= 199 && r.latency_us.p50 <= 201);
        assert!(r.target_rps.is_none() && r.uncorrected_latency_us.is_none());
    }

    #[test]
    fn the_client_is_saturated_when_its_busiest_thread_is() {
        let thread = |wanted: f64| {
            let mut t = ThreadStats::new(false);
            t.cpu_busy = wanted / 2.0;
            t.cpu_wanted = wanted;
            t
        };
        let r = merge(vec![thread(0.95), thread(0.1), thread(0.1), thread(0.1)], 4, 1.0, None);
        assert!(
            r.client_saturated,
            "one thread at its limit among four idle ones: {r:?}"
        );
        assert!(r.client_cpu_busy < 0.2, "the mean hides it: {r:?}");
        assert!(!merge(vec![thread(0.8), thread(0.8)], 2, 1.0, None).client_saturated);
    }

    #[test]
    fn open_loop_reports_both_histograms_and_the_rate() {
        let mut t = ThreadStats::new(true);
        t.sent = 90;
        for _ in 0..90 {
            t.response(Instant::now(), 200, None, 5000, 100);
            t.lag(4900, 0, 0);
        }
        let r = merge(vec![t], 1, 1.0, Some(100.0));
        assert_eq!(
            (r.target_rps, r.achieved_rps, r.rate_reached),
            (Some(100.0), Some(90.0), Some(false))
        );
        assert!(r.latency_us.p99 >= 4990 && r.uncorrected_latency_us.unwrap().p99 <= 101);
        assert!(r.send_lag_us.unwrap().p50 >= 4890);
        assert_eq!(r.late_by_client, Some(0), "late because the server held the connection");
        assert_eq!(
            r.pacing.unwrap().late_by_server,
            90,
            "the server's: its connection was busy"
        );
    }

    #[test]
    fn a_client_that_cannot_keep_its_schedule_has_not_reached_the_rate() {
        let run = |late: u64| {
            let mut t = ThreadStats::new(true);
            t.sent = 1000;
            for i in 0..1000 {
                t.response(Instant::now(), 200, None, 100, 100);
                t.lag(2000, if i < late { 2000 } else { 20 }, 0);
            }
            merge(vec![t], 1, 1.0, Some(1000.0))
        };
        let ok = run(10);
        assert_eq!(
            (ok.rate_reached, ok.late_by_client),
            (Some(true), Some(10)),
            "1 % is allowed"
        );
        let late = run(11);
        assert_eq!(
            (late.rate_reached, late.late_by_client),
            (Some(false), Some(11)),
            "all sent, but late"
        );
        // A saturated client reads answers late, so its connections look busy: lag counts then.
        let mut t = ThreadStats::new(true);
        t.sent = 1000;
        t.cpu_wanted = 0.95;
        for _ in 0..1000 {
            t.response(Instant::now(), 200, None, 3000, 100);
            t.lag(2900, 0, 0);
        }
        let r = merge(vec![t], 1, 1.0, Some(1000.0));
        assert_eq!((r.client_saturated, r.rate_reached), (true, Some(false)), "{r:?}");
    }

    #[test]
    fn late_sends_are_split_by_whether_the_wake_up_was_late() {
        let thread = |late_wakeups: u64| {
            let mut t = ThreadStats::new(true);
            let mut w = histogram();
            for i in 0..100 {
                w.record(if i < late_wakeups { 3000 } else { 10 }).unwrap();
            }
            t.wakeups = Some(w);
            t.sent = 100;
            for i in 0..100 {
                t.response(Instant::now(), 200, None, 100, 100);
                // Late by the client in every case; the wake-up was the late part for the first.
                t.lag(2500, 2500, if i < late_wakeups { 2400 } else { 5 });
            }
            t
        };
        let r = merge(vec![thread(3), thread(7)], 2, 1.0, Some(200.0));
        let p = r.pacing.unwrap();
        assert_eq!((p.wakeups, p.late_wakeups, p.late_by_wakeup), (200, 10, 10));
        assert_eq!(r.late_by_client, Some(200), "the rest was the client's own work");
        assert!(p.lateness_us.max >= 2990, "{p:?}");
        // A closed loop has no pacing.
        assert!(merge(vec![ThreadStats::new(false)], 1, 1.0, None).pacing.is_none());
    }
}

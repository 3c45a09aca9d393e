//! Figures per interval of the measured window — 2xx, non-2xx, errors by kind, p50 and p99 of
//! the responses completed in it, responses per worker — so a fault shows when it struck and how
//! long recovery took. Each client thread keeps its own; the collector adds them up exactly.

use hdrhistogram::Histogram;
use model::histogram::interval_histogram;
use model::limits::{interval_for, MAX_INTERVALS};
use model::load::{ErrorCounts, ErrorKind};
use model::timeline::TimelineReport;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

#[derive(Clone, Serialize, Deserialize)]
struct Slot {
    ok: u64,
    non_2xx: u64,
    errors: ErrorCounts,
    #[serde(with = "model::histogram::v2")]
    latency: Histogram<u64>,
    per_worker: Vec<(Box<[u8]>, u64)>,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            ok: 0,
            non_2xx: 0,
            errors: ErrorCounts::default(),
            latency: interval_histogram(),
            per_worker: Vec::new(),
        }
    }
}

/// One thread's timeline. A load host sends it whole, interval histograms included, so interval
/// percentiles merge exactly across hosts; the start is an instant of that host's clock only.
#[derive(Clone, Serialize, Deserialize)]
pub struct Timeline {
    #[serde(skip, default = "Instant::now")]
    start: Instant,
    every: Duration,
    /// How many intervals the window has; `slots` grows to it only as intervals fill.
    intervals: usize,
    slots: Vec<Slot>,
}

impl Timeline {
    /// Intervals of `every` (or longer: [`interval_for`]) from `start` (the window's opening)
    /// for `window`. Nothing is allocated until an interval gets its first figure.
    pub fn new(start: Instant, every: Duration, window: Duration) -> Timeline {
        let every = interval_for(every, window);
        let intervals = window.as_nanos().div_ceil(every.as_nanos().max(1)).max(1) as usize;
        Timeline {
            start,
            every,
            intervals,
            slots: Vec::new(),
        }
    }

    /// The interval `at` falls in; the window's last instant belongs to its last interval.
    fn slot(&mut self, at: Instant) -> Option<&mut Slot> {
        let i = (at.checked_duration_since(self.start)?.as_nanos() / self.every.as_nanos().max(1)) as usize;
        let i = i.min(self.intervals - 1);
        if self.slots.len() <= i {
            self.slots.resize_with(i + 1, Slot::new);
        }
        self.slots.get_mut(i)
    }

    pub fn response(&mut self, at: Instant, status: u16, worker: Option<&[u8]>, latency_us: u64) {
        let Some(s) = self.slot(at) else { return };
        if (200..300).contains(&status) {
            s.ok += 1;
        } else {
            s.non_2xx += 1;
        }
        s.latency.saturating_record(latency_us.max(1));
        if let Some(w) = worker {
            match s.per_worker.iter_mut().find(|(k, _)| &**k == w) {
                Some((_, n)) => *n += 1,
                None => s.per_worker.push((w.into(), 1)),
            }
        }
    }

    pub fn error(&mut self, at: Instant, kind: ErrorKind) {
        if let Some(s) = self.slot(at) {
            s.errors.add(kind);
        }
    }
}

/// Adds the threads' timelines (same start and intervals) into one report.
pub fn merge(parts: Vec<Timeline>) -> Option<TimelineReport> {
    let mut parts = parts.into_iter();
    let first = parts.next()?;
    let every = first.every;
    let mut slots = first.slots;
    slots.resize_with(first.intervals.min(MAX_INTERVALS), Slot::new);
    for t in parts {
        for (mine, theirs) in slots.iter_mut().zip(t.slots) {
            mine.ok += theirs.ok;
            mine.non_2xx += theirs.non_2xx;
            mine.errors.add_all(&theirs.errors);
            mine.latency
                .add(&theirs.latency)
                .expect("interval histograms share bounds");
            for (w, n) in theirs.per_worker {
                match mine.per_worker.iter_mut().find(|(k, _)| *k == w) {
                    Some((_, m)) => *m += n,
                    None => mine.per_worker.push((w, n)),
                }
            }
        }
    }
    let mut r = TimelineReport {
        interval_ms: every.as_millis() as u64,
        ..TimelineReport::default()
    };
    let q = |h: &Histogram<u64>, q: f64| if h.is_empty() { 0 } else { h.value_at_quantile(q) };
    let workers: Vec<String> = {
        let mut w: Vec<String> = slots
            .iter()
            .flat_map(|s| {
                s.per_worker
                    .iter()
                    .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
            })
            .collect();
        w.sort();
        w.dedup();
        w
    };
    for s in &slots {
        r.ok.push(s.ok);
        r.non_2xx.push(s.non_2xx);
        r.errors.push(s.errors.total());
        r.errors_connect.push(s.errors.connect);
        r.errors_reset.push(s.errors.reset);
        r.errors_timeout.push(s.errors.timeout);
        r.errors_protocol.push(s.errors.protocol);
        r.p50_us.push(q(&s.latency, 0.5));
        r.p99_us.push(q(&s.latency, 0.99));
        r.max_us.push(if s.latency.is_empty() { 0 } else { s.latency.max() });
        for w in &workers {
            let n = s
                .per_worker
                .iter()
                .find(|(k, _)| String::from_utf8_lossy(k) == w.as_str())
                .map_or(0, |(_, n)| *n);
            r.per_worker.entry(w.clone()).or_default().push(n);
        }
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_window_gets_longer_intervals_and_allocates_as_they_fill() {
        let (s, ms) = (Duration::from_secs, Duration::from_millis);
        assert_eq!(interval_for(s(1), s(60)), s(1));
        assert_eq!(interval_for(ms(100), s(24 * 3600)), s(144), "24 h in 600 intervals");
        let start = Instant::now();
        let mut t = Timeline::new(start, s(1), s(24 * 3600));
        assert_eq!(
            (t.intervals, t.slots.len()),
            (MAX_INTERVALS, 0),
            "nothing allocated up front"
        );
        t.response(start + s(10), 200, None, 5);
        assert_eq!(t.slots.len(), 1, "only the interval that has a figure");
        t.response(start + s(24 * 3600), 200, None, 5);
        assert_eq!(t.slots.len(), MAX_INTERVALS, "never more than the bound");
        let r = merge(vec![t, Timeline::new(start, s(1), s(24 * 3600))]).unwrap();
        assert_eq!((r.interval_ms, r.ok.len(), r.ok[0], r.ok[599]), (144_000, 600, 1, 1));
    }

    #[test]
    fn intervals_are_filled_and_merged() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut a = Timeline::new(start, ms(100), ms(300));
        let mut b = Timeline::new(start, ms(100), ms(300));
        a.response(start + ms(10), 200, Some(b"0"), 100);
        a.response(start + ms(150), 503, Some(b"1"), 5_000);
        b.response(start + ms(20), 200, Some(b"1"), 300);
        b.error(start + ms(250), ErrorKind::Reset);
        a.response(start + ms(300), 200, None, 1);
        let r = merge(vec![a, b]).unwrap();
        assert_eq!(r.interval_ms, 100);
        assert_eq!(r.ok, [2, 0, 1], "the window's end is in its last interval");
        assert_eq!(r.non_2xx, [0, 1, 0]);
        assert_eq!(r.errors_reset, [0, 0, 1]);
        assert_eq!(r.per_worker["0"], [1, 0, 0]);
        assert_eq!(r.per_worker["1"], [1, 1, 0]);
        assert!(r.p99_us[1] >= 4_950 && r.p50_us[0] >= 99, "{r:?}");
        assert!(r.max_us[0] >= 299 && r.max_us[1] >= 4_950 && r.max_us[2] == 1, "{r:?}");
    }
}

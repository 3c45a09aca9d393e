//! What a fault cost, read off the run's timeline: the failures from its interval on, how far and
//! how long throughput fell, and the tail latency around it.

use model::fault::FaultReport;
use model::timeline::TimelineReport;

/// Throughput is back when it is within this share of its level before the fault...
pub const RECOVERED: f64 = 0.9;
/// ...for at least this long (so one lucky interval is not a recovery).
pub const SUSTAINED_MS: f64 = 500.0;

/// Fills the timeline's part of `report` for a fault at `at_ms` into the window, whose latency
/// is judged until `after_ms` (a second after it, or after a stopped worker continued).
pub fn timeline(report: &mut FaultReport, t: &TimelineReport, at_ms: f64, after_ms: f64) {
    let every = t.interval_ms.max(1) as f64;
    let n = t.ok.len();
    if n == 0 {
        return;
    }
    let fault = ((at_ms / every) as usize).min(n - 1);
    let rps = |j: usize| t.ok[j] as f64 * 1000.0 / every;
    let before: Vec<f64> = (0..fault).map(rps).collect();
    report.baseline_rps = median(&before);
    report.p99_before_us = median(
        &(0..fault)
            .filter(|&j| t.ok[j] > 0)
            .map(|j| t.p99_us[j] as f64)
            .collect::<Vec<_>>(),
    ) as u64;
    let around = || (fault..n).take_while(|&j| (j as f64) * every < after_ms);
    report.p99_fault_us = around().map(|j| t.p99_us[j]).max().unwrap_or(0);
    report.max_fault_us = around().filter_map(|j| t.max_us.get(j).copied()).max().unwrap_or(0);
    for j in fault..n {
        report.errors.connect += t.errors_connect[j];
        report.errors.reset += t.errors_reset[j];
        report.errors.timeout += t.errors_timeout[j];
        report.errors.protocol += t.errors_protocol[j];
        report.non_2xx += t.non_2xx[j];
    }
    report.lost_in_flight = report.errors.reset + report.errors.timeout;
    let threshold = RECOVERED * report.baseline_rps;
    let run = ((SUSTAINED_MS / every).ceil() as usize).max(1);
    // The first interval from which throughput stays up for `run` intervals (or to the end).
    let back = (fault..n).find(|&j| {
        let end = (j + run).min(n);
        (end - j == run || end == n) && (j..end).all(|k| rps(k) >= threshold)
    });
    report.recovery_ms = back.map(|j| ((j as f64) * every - at_ms).max(0.0));
    let until = back.unwrap_or(n).max(fault + 1);
    report.dip = if report.baseline_rps > 0.0 {
        (fault..until).map(rps).fold(f64::INFINITY, f64::min) / report.baseline_rps
    } else {
        0.0
    };
    let last = ((1000.0 / every).ceil() as usize).clamp(1, n);
    report.serving_at_end = t
        .per_worker
        .values()
        .filter(|counts| counts[n - last..].iter().sum::<u64>() > 0)
        .count();
}

/// The median (the lower middle for an even count; 0 for none).
fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[(v.len() - 1) / 2]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// 100 ms intervals of `ok` responses each, p99 `p99`, worker "0" answering all of them and
    /// worker "1" those given.
    fn timeline(ok: &[u64], p99: &[u64], resets: &[(usize, u64)], w1: &[u64]) -> TimelineReport {
        let n = ok.len();
        let mut errors_reset = vec![0; n];
        for &(j, r) in resets {
            errors_reset[j] = r;
        }
        TimelineReport {
            interval_ms: 100,
            ok: ok.to_vec(),
            non_2xx: vec![0; n],
            errors: errors_reset.clone(),
            errors_connect: vec![0; n],
            errors_reset,
            errors_timeout: vec![0; n],
            errors_protocol: vec![0; n],
            p50_us: vec![50; n],
            p99_us: p99.to_vec(),
            max_us: p99.iter().map(|p| p * 2).collect(),
            per_worker: BTreeMap::from([("0".to_string(), ok.to_vec()), ("1".to_string(), w1.to_vec())]),
        }
    }

    #[test]
    fn a_dip_and_its_recovery() {
        // 1000/s (100 per 100 ms); the fault at 420 ms; down to 40 %, back from 800 ms on.
        let ok = [100, 100, 100, 100, 60, 40, 70, 85, 95, 100, 98, 100, 100, 100, 100];
        let p99 = [
            200, 210, 190, 200, 5000, 900, 300, 250, 200, 200, 200, 200, 200, 200, 200,
        ];
        let t = timeline(&ok, &p99, &[(4, 30), (5, 2)], &[100; 15]);
        let mut r = FaultReport::default();
        super::timeline(&mut r, &t, 420.0, 1420.0);
        assert_eq!(r.baseline_rps, 1000.0);
        assert_eq!(r.errors.reset, 32);
        assert_eq!(r.lost_in_flight, 32);
        assert_eq!(r.p99_before_us, 200);
        assert_eq!(r.p99_fault_us, 5000);
        assert_eq!(r.max_fault_us, 10_000);
        // 85 % at 700 ms is not back; from 800 ms five intervals stay at ≥ 90 %.
        assert_eq!(r.recovery_ms, Some(380.0));
        assert!((r.dip - 0.4).abs() < 1e-9, "{}", r.dip);
        assert_eq!(r.serving_at_end, 2);
    }

    #[test]
    fn no_dip_is_an_immediate_recovery_and_a_silent_worker_is_counted_out() {
        let ok = [100; 20];
        let mut w1 = [100; 20];
        w1[9..].fill(0);
        let t = timeline(&ok, &[200; 20], &[], &w1);
        let mut r = FaultReport::default();
        super::timeline(&mut r, &t, 300.0, 1300.0);
        assert_eq!(r.recovery_ms, Some(0.0));
        assert_eq!(r.dip, 1.0);
        assert_eq!(r.serving_at_end, 1, "worker 1 was silent in the last second");
    }

    #[test]
    fn never_back_is_no_recovery() {
        let ok = [100, 100, 100, 50, 50, 50, 50, 50];
        let t = timeline(&ok, &[200; 8], &[], &[0; 8]);
        let mut r = FaultReport::default();
        super::timeline(&mut r, &t, 250.0, 1250.0);
        assert_eq!(r.recovery_ms, None);
        assert_eq!(r.dip, 0.5);
    }
}

//! Capacity under a latency objective: the highest open-loop rate a strategy sustains with its
//! corrected p99 under a target and almost no failures — what users want to know, rather than
//! the closed-loop maximum. Found like Envoy Nighthawk's adaptive load controller: rates doubled
//! from a start until one misses, then halved into the gap, bounded in steps.

use model::slo::{Capacity, Probe, SloConfig};

/// What one open-loop run at a probed rate measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probed {
    pub p99_us: u64,
    pub failed_share: f64,
    pub rate_reached: bool,
    /// The client could not keep its schedule (see `LoadReport::late_by_client`).
    pub client_late: bool,
}

/// Searches with `probe(rate)` (one open-loop run, judged by the caller's measurements).
pub fn search(
    slo: &SloConfig,
    target_p99_us: u64,
    closed_rps: f64,
    mut probe: impl FnMut(f64) -> anyhow::Result<Probed>,
) -> anyhow::Result<Capacity> {
    let mut probes: Vec<Probe> = Vec::new();
    let mut run = |rate: f64, probes: &mut Vec<Probe>| -> anyhow::Result<bool> {
        let m = probe(rate)?;
        let ok = m.rate_reached && m.p99_us <= target_p99_us && m.failed_share <= slo.max_failed;
        probes.push(Probe {
            rate,
            p99_us: m.p99_us,
            failed_share: m.failed_share,
            rate_reached: m.rate_reached,
            client_late: m.client_late,
            ok,
        });
        Ok(ok)
    };
    let ceiling = (2.0 * closed_rps).max(2.0);
    let floor = 1.0;
    let (mut good, mut bad): (Option<f64>, Option<f64>) = (None, None);
    let mut rate = (closed_rps * slo.start).clamp(floor, ceiling);
    // Up (or down) by factors of two until the target is crossed.
    while probes.len() < slo.max_steps {
        if run(rate, &mut probes)? {
            good = Some(rate);
            if bad.is_some() || rate >= ceiling {
                break;
            }
            rate = (rate * 2.0).min(ceiling);
        } else {
            bad = Some(rate);
            if good.is_some() || rate <= floor {
                break;
            }
            rate = (rate / 2.0).max(floor);
        }
    }
    // Then halve the gap.
    while let (Some(g), Some(b)) = (good, bad) {
        if probes.len() >= slo.max_steps || (b - g) <= slo.precision * g {
            break;
        }
        let mid = (g + b) / 2.0;
        if run(mid, &mut probes)? {
            good = Some(mid);
        } else {
            bad = Some(mid);
        }
    }
    let client_limited = bad.is_some_and(|b| probes.iter().any(|p| p.rate == b && p.client_late));
    Ok(Capacity {
        target_p99_us,
        rps: good,
        at_least: good.is_some() && (bad.is_none() || client_limited),
        client_limited,
        probes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server that meets a 10 ms p99 up to `capacity` req/s and misses above it.
    fn server(capacity: f64) -> impl FnMut(f64) -> anyhow::Result<Probed> {
        move |rate| Ok(measured(if rate <= capacity { 2_000 } else { 50_000 }, 0.0))
    }

    fn measured(p99_us: u64, failed_share: f64) -> Probed {
        Probed {
            p99_us,
            failed_share,
            rate_reached: true,
            client_late: false,
        }
    }

    #[test]
    fn the_search_brackets_a_known_capacity() {
        let slo = SloConfig {
            max_steps: 12,
            ..SloConfig::default()
        };
        for capacity in [937.0, 180.0, 1_600.0] {
            let c = search(&slo, 10_000, 1_000.0, server(capacity)).unwrap();
            let found = c.rps.unwrap();
            assert!(found <= capacity && found >= capacity * 0.95, "{capacity}: {c:?}");
            assert!(c.probes.len() <= 12);
        }
    }

    #[test]
    fn bounds_are_said() {
        let slo = SloConfig::default();
        let all_good = search(&slo, 10_000, 1_000.0, server(1e9)).unwrap();
        assert!(all_good.at_least && all_good.rps == Some(2_000.0), "{all_good:?}");
        let none = search(&slo, 10_000, 1_000.0, server(0.0)).unwrap();
        assert_eq!(none.rps, None);
        assert!(none.probes.len() <= slo.max_steps);
        let failing = search(&slo, 10_000, 1_000.0, |r| {
            Ok(measured(1_000, if r > 500.0 { 0.01 } else { 0.0 }))
        })
        .unwrap();
        assert!(
            failing.rps.unwrap() <= 500.0,
            "failures count against the target: {failing:?}"
        );
        assert!(!failing.at_least && !failing.client_limited);
    }

    /// A server of known capacity and a client made late on purpose, at every pattern of the
    /// first eight probes: a late probe is never taken for the server's miss. The capacity found
    /// is the server's (within the search's precision), or it is a lower bound said to be the
    /// client's limit; never a figure below the server's capacity given as its own.
    #[test]
    fn a_late_probe_is_never_taken_for_a_server_miss() {
        let slo = SloConfig {
            max_steps: 12,
            ..SloConfig::default()
        };
        let capacity = 937.0;
        for late_mask in 0u32..256 {
            let mut n = 0;
            let c = search(&slo, 10_000, 1_000.0, |rate| {
                let late = n < 8 && late_mask & (1 << n) != 0;
                n += 1;
                Ok(Probed {
                    rate_reached: !late,
                    client_late: late,
                    ..server(capacity)(rate)?
                })
            })
            .unwrap();
            let found = c.rps.unwrap_or(0.0);
            assert!(found <= capacity, "{late_mask:#b}: above the server's capacity: {c:?}");
            if found < capacity * (1.0 - slo.precision) {
                assert!(
                    c.client_limited && (c.at_least || c.rps.is_none()),
                    "{late_mask:#b}: a late probe was taken for the server's miss: {c:?}"
                );
            }
            let late_probes = c.probes.iter().filter(|p| p.client_late);
            assert!(late_probes.clone().all(|p| !p.ok), "{late_mask:#b}: {c:?}");
            let made_late = (0..c.probes.len().min(8)).filter(|i| late_mask & (1 << i) != 0).count();
            assert_eq!(late_probes.count(), made_late, "{late_mask:#b}: {c:?}");
        }
    }

    #[test]
    fn a_client_that_falls_behind_bounds_the_search_from_below_only() {
        let c = search(&SloConfig::default(), 10_000, 1_000.0, |r| {
            let late = r > 700.0;
            Ok(Probed {
                rate_reached: !late,
                client_late: late,
                ..measured(1_000, 0.0)
            })
        })
        .unwrap();
        assert!(c.rps.unwrap() <= 700.0 && c.client_limited && c.at_least, "{c:?}");
    }
}

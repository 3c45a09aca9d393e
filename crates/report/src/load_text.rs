//! `lbbench load`'s wrk-style text report.

use model::load::{LoadReport, Percentiles, CLIENT_LATE};

fn ms(us: u64) -> String {
    format!("{:.2}", us as f64 / 1000.0)
}

/// "p50 0.21 ms  p90 ...": one histogram's percentiles on a line.
fn percentiles(p: &Percentiles) -> String {
    format!(
        "p50 {} ms  p90 {} ms  p99 {} ms  p99.9 {} ms  max {} ms",
        ms(p.p50),
        ms(p.p90),
        ms(p.p99),
        ms(p.p999),
        ms(p.max)
    )
}

/// A wrk-like text report of one run against `url`.
pub fn render(url: &str, r: &LoadReport) -> String {
    let mut out = format!(
        "{:.1}s test @ {url}{}\n  {} threads and {} connections\n",
        r.duration_s,
        if r.interrupted {
            " (interrupted: the part measured before Ctrl-C)"
        } else {
            ""
        },
        r.threads,
        r.connections
    );
    match (r.target_rps, r.achieved_rps, &r.uncorrected_latency_us, &r.send_lag_us) {
        (Some(target), Some(achieved), Some(uncorrected), Some(lag)) => {
            out += &format!("  Open loop: target {target:.0} req/s, sent {achieved:.0} req/s");
            if r.client_lagged() {
                let late = r.late_by_client.unwrap_or(0);
                out += &format!(
                    " — WARNING: the client could NOT keep its schedule ({late} sends, {:.1} %, left over {} ms late with their connection free; client saturated: {}); the latency is partly the client's: use more client threads (--threads) or a lower rate",
                    100.0 * late as f64 / r.sent.max(1) as f64,
                    CLIENT_LATE.as_millis(),
                    if r.client_saturated { "yes" } else { "no" }
                );
            } else if r.rate_reached == Some(false) {
                out += " — WARNING: the offered rate was NOT reached; the server (or client) could not keep up";
            }
            out += &format!(
                "\n  Latency (from when each request was due)  {}\n",
                percentiles(&r.latency_us)
            );
            out += &format!(
                "  Uncorrected (from the actual send)        {}\n",
                percentiles(uncorrected)
            );
            out += &format!("  Send lag behind schedule                  {}\n", percentiles(lag));
            if let Some(p) = &r.pacing {
                out += &format!(
                    "  Timer wake-ups, late by                   {} ({} wake-ups, {} over {} ms)\n",
                    percentiles(&p.lateness_us),
                    p.wakeups,
                    p.late_wakeups,
                    CLIENT_LATE.as_millis()
                );
            }
            if let Some(why) = r.late_sends() {
                out += &format!("  {why}\n");
            }
            if let Some(n) = r.pacing.as_ref().map(|p| p.late_by_server).filter(|&n| n > 0) {
                out += &format!(
                    "  {n} sends over {} ms late waiting for the server's answer to the one before\n",
                    CLIENT_LATE.as_millis()
                );
            }
        }
        _ => out += &format!("  Latency  {}\n", percentiles(&r.latency_us)),
    }
    out += &format!(
        "  {} responses in {:.1}s ({} 2xx), errors: {}",
        r.requests, r.duration_s, r.ok, r.error_kinds
    );
    if !r.non_2xx.is_empty() {
        let statuses: Vec<String> = r.non_2xx.iter().map(|(s, n)| format!("{n} × {s}")).collect();
        out += &format!(", non-2xx: {}", statuses.join(", "));
    }
    out += &format!(", {} in flight at the end", r.in_flight_at_end);
    if r.not_sent_in_time > 0 {
        out += &format!(", {} due but not sent before the end", r.not_sent_in_time);
    }
    out += "\n";
    if !r.per_worker.is_empty() {
        out += &format!("  Per X-Worker: {:?}\n", r.per_worker);
    }
    out += &format!("  Client threads on CPU: {:.0} % (mean)", r.client_cpu_busy * 100.0);
    if !r.client_cpus_busy.is_empty() {
        let cpus: Vec<String> = r
            .client_cpus_busy
            .iter()
            .map(|(c, b)| format!("CPU {c} {:.0} %", b * 100.0))
            .collect();
        out += &format!("; client CPUs busy (anything running there): {}", cpus.join(", "));
    }
    if r.client_saturated {
        out += " — WARNING: the client is saturated; the figures may be its limit, not the server's";
    }
    out += &format!("\nRequests/sec: {:.2} (2xx responses only)\n", r.rps);
    out
}

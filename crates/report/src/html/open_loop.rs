//! The page's open-loop table: every step of latency under load, whether it was measured cleanly
//! (its offered rate reached, the machine's noise within the threshold), and when not, why.

use super::page::{esc, table, Page, Section};
use crate::format::ms;

/// Every open-loop step of every cell, in cell order.
pub fn section(page: &Page) -> Vec<Section> {
    let rows: Vec<Vec<String>> = page
        .results
        .cells
        .iter()
        .flat_map(|c| c.open_loop.iter().map(move |o| (c, o)))
        .map(|(c, o)| {
            let l = &o.load;
            let lateness = l.pacing.as_ref().map_or_else(String::new, |p| {
                format!("{} µs ({} over 1 ms)", p.lateness_us.p99, p.late_wakeups)
            });
            // What the machine did to the client's CPUs: the wake-ups' lateness in context.
            let machine = o
                .cpu
                .as_ref()
                .and_then(|c| c.noise.as_ref())
                .map_or_else(String::new, |n| {
                    format!(
                        "{:.1} % / {:.1} %",
                        n.client_steal * 100.0,
                        n.client_interference * 100.0
                    )
                });
            // Whose fault the late sends were: the client's own work, its wake-ups, the server.
            let late = l.pacing.as_ref().map_or_else(String::new, |p| {
                let by_client = l.late_by_client.unwrap_or(0);
                format!(
                    "{} / {} / {}",
                    by_client.saturating_sub(p.late_by_wakeup),
                    p.late_by_wakeup,
                    p.late_by_server
                )
            });
            vec![
                esc(c.workload.name()),
                page.strategy(&c.strategy),
                c.cores.to_string(),
                format!("{:.0} %", o.fraction * 100.0),
                format!("{:.0}", l.target_rps.unwrap_or(0.0)),
                format!("{:.0}", l.achieved_rps.unwrap_or(0.0)),
                ms(l.latency_us.p99 as f64),
                l.send_lag_us.as_ref().map_or_else(String::new, |s| ms(s.p99 as f64)),
                lateness,
                machine,
                late,
                match (l.rate_missed(), o.spoiled(page.results.config.noise.threshold)) {
                    (None, None) => "yes".into(),
                    (Some(why), _) => format!("no: {}", esc(&why)),
                    (None, Some(noise)) => format!("no: the machine's noise, {}", esc(&noise)),
                },
            ]
        })
        .collect();
    if rows.is_empty() {
        return Vec::new();
    }
    let body = format!(
        "<p>Each open-loop step: the offered rate, what was sent, p99 from each request's intended send \
         time, how late requests left (send lag), how late the client's pacing timer woke (p99, and the \
         wake-ups over 1 ms), what the machine took of the client's CPUs (the hypervisor's steal / other \
         processes' work, shares of their time), the sends over 1 ms late by whose doing (the client's own work after a \
         timely wake-up / a wake-up that came late: the machine's / a connection still waiting for the \
         server's answer), and whether the step measured the server: a step whose rate was not reached \
         says whose limit it met (the client's CPU, the client's late wake-ups, or the server).</p>\n{}",
        table(
            &[
                "workload",
                "strategy",
                "cores",
                "step",
                "offered req/s",
                "sent req/s",
                "p99 ms",
                "send lag p99 ms",
                "timer wake-ups late, p99",
                "client CPUs: steal / other work",
                "sends over 1 ms late: client / wake-up / server",
                "measured cleanly",
            ],
            &rows,
            true
        )
    );
    vec![Section::new("open-loop", "Latency under load, step by step", body)]
}

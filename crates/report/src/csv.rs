use crate::format::Exporter;
use anyhow::Result;
use model::results::Results;
use std::fmt::Write;

pub const FILE: &str = "results.csv";
pub const HEADER: &str = "strategy,cores,workload,repeat,workers,connections,duration_s,sent,requests,rps,\
p50_us,p90_us,p99_us,p999_us,max_us,errors,errors_connect,errors_reset,errors_timeout,errors_protocol,\
non_2xx,in_flight_at_end,per_worker,shared_cpus,isolated,client_cpu_busy,client_saturated,\
ok,not_sent_in_time,jain,max_share,min_share,readiness,started_at,\
server_cpu_us_per_request,server_cpu_util,server_user_s,server_system_s,client_cpu_util,bottleneck,cpu_by_program,\
capacity_rps,capacity_target_p99_us,workload_path";

pub struct Csv;

impl Exporter for Csv {
    fn render(&self, results: &Results) -> Result<Vec<(String, Vec<u8>)>> {
        Ok(vec![(FILE.into(), render(results).into_bytes())])
    }
}

/// One row per measured cell; maps are `key:value` pairs joined by `;`.
pub fn render(results: &Results) -> String {
    let mut out = format!("{HEADER}\n");
    let pairs = |m: Vec<(String, u64)>| m.iter().map(|(k, v)| format!("{k}:{v}")).collect::<Vec<_>>().join(";");
    for c in &results.cells {
        let (l, cpu) = (&c.load, c.cpu.as_ref());
        let (lat, e) = (&l.latency_us, &l.error_kinds);
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{:.3},{},{},{:.1},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.3},{},{},{},{:.4},{:.4},{:.4},{},{},{},{},{},{},{:.3},{},{},{},{},{}",
            c.strategy,
            c.cores,
            c.workload.name(),
            c.repeat,
            c.workers,
            l.connections,
            l.duration_s,
            l.sent,
            l.requests,
            l.rps,
            lat.p50,
            lat.p90,
            lat.p99,
            lat.p999,
            lat.max,
            l.errors,
            e.connect,
            e.reset,
            e.timeout,
            e.protocol,
            pairs(l.non_2xx.iter().map(|(k, v)| (k.to_string(), *v)).collect()),
            l.in_flight_at_end,
            pairs(l.per_worker.iter().map(|(k, v)| (k.clone(), *v)).collect()),
            c.shared_cpus,
            c.isolated,
            l.client_cpu_busy,
            l.client_saturated,
            l.ok,
            l.not_sent_in_time,
            c.fairness.jain,
            c.fairness.max_share,
            c.fairness.min_share,
            serde_json::to_value(c.readiness).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default(),
            c.started_at,
            cpu.map_or(String::new(), |c| format!("{:.2}", c.server_cpu_us_per_request)),
            cpu.map_or(String::new(), |c| format!("{:.4}", c.server_cpu_util)),
            cpu.map_or(String::new(), |c| format!("{:.4}", c.server_user_s)),
            cpu.map_or(String::new(), |c| format!("{:.4}", c.server_system_s)),
            l.client_cpu_util(),
            c.bottleneck.map_or(String::new(), |b| b.to_string()),
            cpu.map_or(String::new(), |c| {
                c.by_program
                    .iter()
                    .map(|p| format!("{}:{:.4}", p.program, p.cpu_s))
                    .collect::<Vec<_>>()
                    .join(";")
            }),
            c.capacity.as_ref().and_then(|k| k.rps).map_or(String::new(), |r| format!("{r:.1}")),
            c.capacity.as_ref().map_or(String::new(), |k| k.target_p99_us.to_string()),
            results.config.workload(&c.workload).map_or(String::new(), |w| w.path())
        );
    }
    out
}

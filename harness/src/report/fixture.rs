//! A small, fully populated Results for exporter tests.

use super::*;
use crate::load::stats::{ErrorCounts, LoadReport, Percentiles};
use std::collections::BTreeMap;

pub fn results() -> Results {
    let mut cells = Vec::new();
    for (s, strategy) in ["alpha", "beta"].iter().enumerate() {
        for cores in [1usize, 2] {
            for repeat in 0..3 {
                let rps = 1000.0 * (s + 1) as f64 * cores as f64 + repeat as f64;
                cells.push(CellResult {
                    strategy: strategy.to_string(),
                    cores,
                    workload: Workload::Keepalive,
                    repeat,
                    workers: cores,
                    server_cpus: (0..cores).collect(),
                    client_cpus: vec![cores % 2],
                    shared_cpus: cores == 2,
                    isolated: true,
                    load: LoadReport {
                        connections: 8,
                        threads: 1,
                        duration_s: 1.0,
                        sent: rps as u64 + 1,
                        requests: rps as u64,
                        ok: rps as u64,
                        non_2xx: BTreeMap::new(),
                        errors: 0,
                        error_kinds: ErrorCounts::default(),
                        in_flight_at_end: 1,
                        rps,
                        latency_us: Percentiles {
                            p50: 100,
                            p90: 150,
                            p99: 300 + repeat as u64,
                            p999: 500,
                            max: 900,
                            mean: 110.0,
                        },
                        per_worker: (0..cores).map(|w| (w.to_string(), rps as u64 / cores as u64)).collect(),
                        client_cpu_busy: 0.5,
                        client_saturated: s == 1 && cores == 1,
                    },
                });
            }
        }
    }
    Results {
        lbbench_version: "0.1.0".into(),
        git_commit: Some("abc1234".into()),
        started_at: "2026-11-25T00:00:00Z".into(),
        machine: Machine {
            kernel: "6.1.0".into(),
            cpu_model: "Test CPU".into(),
            cpus: 2,
        },
        isolated: true,
        config_path: "configs/test.toml".into(),
        config: Config {
            sweep: Default::default(),
            load: Default::default(),
            server: Default::default(),
            output: Default::default(),
        },
        skipped: vec![Skipped {
            strategy: "gamma".into(),
            reason: "needs nginx on PATH".into(),
        }],
        failures: vec![],
        cells,
    }
}

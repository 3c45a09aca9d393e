//! A small, fully populated Results for exporter tests.

use model::cell::{CellResult, Fairness};
use model::config::Config;
use model::cpu::{Bottleneck, CpuReport, ProgramCpu};
use model::load::{LoadReport, Percentiles};
use model::machine::Machine;
use model::results::{Results, Skipped, Versions, SCHEMA};

/// Two open-loop steps at half and 90 % of `rps`; the second misses its rate.
fn open_loop(rps: f64) -> Vec<model::cell::OpenLoopPoint> {
    [(0.5, 200u64, true), (0.9, 2000, false)]
        .into_iter()
        .map(|(fraction, p99, reached)| model::cell::OpenLoopPoint {
            fraction,
            fairness: Fairness::default(),
            cpu: None,
            bottleneck: Some(Bottleneck::Neither),
            load_hosts: Vec::new(),
            load: LoadReport {
                connections: 8,
                threads: 1,
                duration_s: 1.0,
                sent: 10,
                requests: 10,
                ok: 10,
                rps: fraction * rps,
                latency_us: Percentiles {
                    p50: 90,
                    p90: 120,
                    p99,
                    p999: p99,
                    max: p99,
                    mean: 100.0,
                },
                client_cpu_busy: 0.1,
                target_rps: Some(fraction * rps),
                achieved_rps: Some(fraction * rps),
                rate_reached: Some(reached),
                uncorrected_latency_us: Some(Percentiles {
                    p50: 80,
                    p90: 100,
                    p99: 150,
                    p999: 150,
                    max: 150,
                    mean: 85.0,
                }),
                send_lag_us: Some(Percentiles::default()),
                ..LoadReport::default()
            },
        })
        .collect()
}

/// A server that spent `us_per_request` µs of CPU per response, 60/40 between two programs.
fn cpu(us_per_request: f64, rps: f64, cores: usize) -> CpuReport {
    let total = us_per_request * rps / 1e6;
    CpuReport {
        window_s: 1.0,
        server_user_s: total * 0.3,
        server_system_s: total * 0.7,
        by_program: vec![
            ProgramCpu {
                program: "nginx".into(),
                cpu_s: total * 0.6,
                share: 0.6,
            },
            ProgramCpu {
                program: "workers (front)".into(),
                cpu_s: total * 0.4,
                share: 0.4,
            },
        ],
        server_cpu_us_per_request: us_per_request,
        server_cpu_util: total / cores as f64,
        noise: Some(model::noise::Noise {
            server_steal: 0.012,
            client_steal: 0.008,
            interference: 0.004,
            client_interference: 0.002,
            busiest: Vec::new(),
            involuntary_switches: 40,
            resolution: 0.02,
            redone: Vec::new(),
        }),
        requests_per_cpu_second: 1e6 / us_per_request,
        server_cpus_busy: (0..cores).map(|c| (c, 0.95)).collect(),
    }
}

fn placed(cpu: usize) -> model::placement::PlacedCpu {
    model::placement::PlacedCpu {
        cpu,
        package: 0,
        core: cpu as u32,
        node: 0,
    }
}

/// The development VM: two CPUs without siblings, the client on CPU 1 throughout.
fn topology() -> model::placement::TopologyRecord {
    model::placement::TopologyRecord {
        cores: 2,
        threads: 2,
        threads_per_core: 1,
        packages: 1,
        nodes: 1,
        smt: Default::default(),
        cpus: vec![placed(0), placed(1)],
        client_cpus: vec![placed(1)],
        client_threads: 1,
        same_node: true,
        governor: None,
        turbo: None,
        notes: vec!["at 2 cores the server shares CPUs 1 with the client".into()],
    }
}

/// The fixture's run without its cells, and its one-core cell of alpha to make new ones from.
pub fn emptied() -> (Results, CellResult) {
    let mut r = results();
    let template = r
        .cells
        .iter()
        .find(|c| c.cores == 1 && c.strategy == "alpha")
        .expect("the fixture has alpha at 1 core")
        .clone();
    r.cells.clear();
    (r, template)
}

/// Uniform numbers in [0, 1) from a xorshift seeded by `seed`: noise that repeats.
pub fn uniforms(seed: u64) -> impl FnMut() -> f64 {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 11) as f64 / (1u64 << 53) as f64
    }
}

pub fn results() -> Results {
    let mut cells = Vec::new();
    for (s, strategy) in ["alpha", "beta"].iter().enumerate() {
        for cores in [1usize, 2] {
            for repeat in 0..3 {
                let rps = 1000.0 * (s + 1) as f64 * cores as f64 + repeat as f64;
                cells.push(CellResult {
                    strategy: strategy.to_string(),
                    worker: "hello".into(),
                    baseline: false,
                    cores,
                    workload: "keepalive".into(),
                    repeat,
                    workers: cores,
                    server_cpus: (0..cores).collect(),
                    client_cpus: vec![1],
                    placement: model::placement::CellPlacement {
                        server: (0..cores).map(placed).collect(),
                        client: vec![placed(1)],
                    },
                    shared_cpus: cores == 2,
                    isolated: true,
                    load_hosts: Vec::new(),
                    readiness: Default::default(),
                    started_at: "2026-11-25T00:00:00Z".into(),
                    fairness: Fairness {
                        jain: 1.0,
                        max_share: 0.5,
                        min_share: 0.5,
                    },
                    cpu: Some(cpu(20.0 * (s + 1) as f64, rps, cores)),
                    timings: Default::default(),
                    warmup_s: 1.0,
                    capacity: (repeat == 0).then(|| model::slo::Capacity {
                        target_p99_us: 10_000,
                        rps: Some(800.0 * (s + 1) as f64 * cores as f64),
                        at_least: false,
                        client_limited: false,
                        probes: Vec::new(),
                    }),
                    fault: None,
                    bottleneck: Some(match (cores, s) {
                        (2, _) => Bottleneck::Shared,
                        (_, 1) => Bottleneck::Client,
                        _ => Bottleneck::Server,
                    }),
                    load: LoadReport {
                        connections: 8,
                        threads: 1,
                        duration_s: 1.0,
                        sent: rps as u64 + 1,
                        requests: rps as u64,
                        ok: rps as u64,
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
                        client_cpus_busy: [(1, 0.5)].into(),
                        client_saturated: s == 1 && cores == 1,
                        ..LoadReport::default()
                    },
                    common_rate: None,
                    open_loop: if repeat == 0 { open_loop(rps) } else { Vec::new() },
                });
            }
        }
    }
    Results {
        schema: SCHEMA,
        versions: Versions {
            rustc: "rustc 1.95.0".into(),
            strategies: [("alpha".to_string(), "alpha 1.0".to_string())].into(),
        },
        lbbench_version: "0.1.0".into(),
        git_commit: Some("abc1234".into()),
        started_at: "2026-11-25T00:00:00Z".into(),
        machine: Machine {
            kernel: "6.1.0".into(),
            cpu_model: "Test CPU".into(),
            cpus: 2,
        },
        topology: Some(topology()),
        isolated: true,
        isolation: model::machine::Isolation::Root,
        config_path: "configs/test.toml".into(),
        config: Config {
            sweep: Default::default(),
            load: Default::default(),
            server: Default::default(),
            output: Default::default(),
            workloads: Default::default(),
            slo: Default::default(),
            fault: None,
            network: Default::default(),
            hosts: None,
            verdict: Default::default(),
            noise: Default::default(),
        },
        skipped: vec![Skipped {
            strategy: "gamma".into(),
            reason: "needs nginx on PATH".into(),
        }],
        failures: vec![],
        cpus_awake: None,
        client_priority: None,
        machine_check: None,
        comparisons: Vec::new(),
        finished: true,
        cells,
    }
}

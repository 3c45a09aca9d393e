use super::*;
use crate::format::{shares, worker_order};
use model::read::{parse, Accept, ReadError};

#[test]
fn a_point_is_the_median_throughput_run_whole_with_the_spread_beside_it() {
    let mut r = fixture::results();
    // Make the median-throughput run (repeat 1 of alpha at 1 core) the one with the worst p99.
    let median = r
        .cells
        .iter()
        .position(|c| c.strategy == "alpha" && c.cores == 1 && c.repeat == 1)
        .unwrap();
    r.cells[median].load.latency_us.p99 = 900;
    r.cells[median].load.latency_us.p50 = 111;
    let points = crate::points::points(&r);
    assert_eq!(points.len(), 4);
    let p = &points[0];
    assert_eq!((p.strategy.as_str(), p.cores, p.runs), ("alpha", 1, 3));
    assert_eq!(p.rps, 1001.0, "the median of 1000, 1001, 1002");
    assert_eq!((p.p50_us, p.p99_us), (111.0, 900.0), "p50 and p99 from that same run");
    assert_eq!(p.rps_range, (1000.0, 1002.0));
    assert_eq!(p.p99_range, (300.0, 900.0));
    assert!((p.rps_cv - 0.000999).abs() < 1e-5, "{}", p.rps_cv);
    assert!(!p.noisy());
    assert_eq!(shares(&points[1].per_worker), "50/50");
    // With an even count the lower middle run is taken, never an average of two.
    r.cells
        .retain(|c| !(c.strategy == "alpha" && c.cores == 1 && c.repeat == 2));
    assert_eq!(crate::points::points(&r)[0].rps, 1000.0);
}

#[test]
fn workers_are_ordered_by_number() {
    let mut r = fixture::results();
    r.cells.truncate(1);
    r.cells[0].load.per_worker = (0..12).map(|w| (w.to_string(), 10 + w as u64)).collect();
    let ids: Vec<String> = crate::points::points(&r)[0]
        .per_worker
        .iter()
        .map(|(w, _)| w.clone())
        .collect();
    assert_eq!(ids, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11"]);
    let mut mixed = vec!["proxy", "10", "2"];
    mixed.sort_by(|a, b| worker_order(a, b));
    assert_eq!(mixed, ["2", "10", "proxy"]);
}

#[test]
fn json_has_the_documented_shape_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let r = fixture::results();
    let files = write(&r, dir.path(), &[&json::Json]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&files[0]).unwrap()).unwrap();
    for key in [
        "machine",
        "config",
        "git_commit",
        "cells",
        "skipped",
        "failures",
        "isolated",
        "schema",
        "versions",
    ] {
        assert!(v.get(key).is_some(), "results.json lacks {key}");
    }
    for key in ["kernel", "cpu_model", "cpus"] {
        assert!(v["machine"].get(key).is_some(), "machine lacks {key}");
    }
    let cell = &v["cells"][0];
    for key in [
        "strategy",
        "cores",
        "workload",
        "connections",
        "rps",
        "latency_us",
        "errors",
        "per_worker",
        "shared_cpus",
        "client_saturated",
        "sent",
        "in_flight_at_end",
        "ok",
        "fairness",
        "started_at",
        "readiness",
        "histograms",
    ] {
        assert!(cell.get(key).is_some(), "a cell lacks {key}: {cell}");
    }
    for key in ["p50", "p90", "p99", "p999", "max"] {
        assert!(cell["latency_us"][key].is_u64(), "latency_us lacks {key}");
    }
    assert_eq!(cell["workload"], "keepalive");
    for key in [
        "cores",
        "threads_per_core",
        "nodes",
        "client_cpus",
        "governor",
        "turbo",
        "notes",
    ] {
        assert!(v["topology"].get(key).is_some(), "topology lacks {key}");
    }
    assert_eq!(cell["placement"]["client"][0]["cpu"], 1, "{cell}");
    assert_eq!(cell["placement"]["server"][0]["node"], 0, "{cell}");
    // Exactly, floats included (serde_json's float_roundtrip).
    assert_eq!(json::read(&files[0], Accept::Current).unwrap(), r);
}

#[test]
fn results_from_before_the_topology_still_load() {
    let mut v = serde_json::to_value(fixture::results()).unwrap();
    v.as_object_mut().unwrap().remove("topology");
    v["config"]["sweep"].as_object_mut().unwrap().remove("smt");
    for cell in v["cells"].as_array_mut().unwrap() {
        cell.as_object_mut().unwrap().remove("placement");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.json");
    std::fs::write(&path, v.to_string()).unwrap();
    let old = json::read(&path, Accept::CurrentOrOlder).unwrap();
    assert_eq!(old.topology, None);
    assert!(old.cells[0].placement.server.is_empty());
    assert!(markdown::render(&old).starts_with("# lbbench results"));
}

#[test]
fn csv_has_one_row_per_cell_and_a_stable_header() {
    let r = fixture::results();
    let text = csv::render(&r);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], csv::HEADER);
    assert_eq!(lines.len(), 1 + r.cells.len());
    let columns = csv::HEADER.split(',').count();
    for l in &lines[1..] {
        assert_eq!(l.split(',').count(), columns, "{l}");
    }
    assert!(
        lines[1].starts_with("alpha,1,keepalive,0,1,8,1.000,1001,1000,1000.0,100,150,300,500,900,0,"),
        "{}",
        lines[1]
    );
    assert!(lines[4].contains(",0:1000;1:1000,"), "{}", lines[4]);
}

#[test]
fn svgs_are_written_with_titles_axes_and_legend() {
    let dir = tempfile::tempdir().unwrap();
    let files = write(&fixture::results(), dir.path(), &[&svg::Svg]).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "throughput-keepalive.svg",
            "latency-keepalive.svg",
            "fairness-keepalive.svg",
            "cpu-per-request-keepalive.svg",
            "cpu-split-keepalive.svg",
            "capacity-keepalive.svg",
            "latency-vs-load-keepalive.svg"
        ]
    );
    let t = std::fs::read_to_string(&files[0]).unwrap();
    assert!(t.starts_with("<svg"), "not an SVG");
    for text in [
        "Throughput — keepalive workload",
        "2xx responses per second (higher is better)",
        "server cores",
        "alpha",
        "beta",
        "Test CPU",
    ] {
        assert!(t.contains(text), "throughput SVG lacks {text:?}");
    }
    let l = std::fs::read_to_string(&files[1]).unwrap();
    for text in [
        "Latency — keepalive workload",
        "p50 latency, ms (lower is better)",
        "p99 latency, ms (lower is better)",
        "alpha",
    ] {
        assert!(l.contains(text), "latency SVG lacks {text:?}");
    }
    let f = std::fs::read_to_string(&files[2]).unwrap();
    assert!(
        f.contains("Fairness — keepalive workload") && f.contains("Jain"),
        "fairness SVG"
    );
}

#[test]
fn table_and_markdown_show_medians_notes_and_skips() {
    let r = fixture::results();
    let t = table::render(&r);
    assert!(
        t.contains("median-throughput run of 3")
            && t.contains("CLIENT SATURATED")
            && t.contains("client shared server CPUs"),
        "{t}"
    );
    assert!(t.contains("skipped gamma: needs nginx"), "{t}");
    let m = markdown::render(&r);
    assert!(m.contains("| keepalive | beta | 2 | 4001 | 0.0 % |"), "{m}");
    assert!(
        m.contains("## Verdict") && m.contains("CPU per request: alpha leads"),
        "{m}"
    );
    assert!(
        m.contains("- alpha: alpha 1.0") && m.contains("built by rustc 1.95.0"),
        "{m}"
    );
    // Runs 20 % apart are flagged as too noisy to rank.
    let mut noisy = fixture::results();
    for (i, c) in noisy
        .cells
        .iter_mut()
        .filter(|c| c.strategy == "alpha" && c.cores == 1)
        .enumerate()
    {
        c.load.rps = 1000.0 * (1.0 + 0.2 * i as f64);
    }
    assert!(
        table::render(&noisy).contains("NOISY (CV 16.7 % > 5 %)"),
        "{}",
        table::render(&noisy)
    );
    assert!(
        m.contains("\n## CPU placement\n\n- 2 physical cores")
            && m.contains("\n- client: CPU 1, 1 thread(s), in every cell\n")
            && m.contains("- at 2 cores the server shares"),
        "{m}"
    );
}

#[test]
fn every_format_is_written_atomically_and_plot_skips_the_results_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = export_all(&fixture::results(), dir.path()).unwrap();
    assert!(files.iter().any(|f| f.ends_with("results.json")));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left behind: {left:?}");
    let again = write(&fixture::results(), dir.path(), derived()).unwrap();
    assert!(!again.iter().any(|f| f.ends_with("results.json")));
    assert_eq!(again.len() + 1, files.len());
}

#[test]
fn the_time_spent_adds_up_to_the_wall_time() {
    let mut r = fixture::results();
    r.cells.truncate(2);
    r.failures.clear();
    for c in &mut r.cells {
        c.timings = model::cell::Timings {
            ready_s: 0.5,
            closed_s: 6.0,
            open_loop_s: 2.5,
            capacity_s: 0.0,
            stop_s: 1.0,
        };
    }
    let line = table::time_spent(&r, 30.0);
    assert_eq!(
        line,
        "2 runs in 0.5 min: starting 1 s (3 %), closed loop 12 s (40 %), open loop 5 s (17 %), \
         stopping 2 s (7 %), other 10 s (33 %)\n"
    );
}

#[test]
fn a_cell_that_cannot_be_read_is_named_with_the_reason() {
    let r = fixture::results();
    let mut v = serde_json::to_value(&r).unwrap();
    v["cells"][1]["histograms"]["latency"] = "HISSAAAAAA==".into();
    let e = parse(v.to_string().as_bytes(), "x.json", Accept::Current).unwrap_err();
    let label = format!(
        "{} cores={} {}",
        r.cells[1].strategy,
        r.cells[1].cores,
        r.cells[1].workload.name()
    );
    let text = e.to_string();
    assert!(
        matches!(&e, ReadError::Cell { index: 1, .. }) && text.contains(&label) && text.contains("HdrHistogram"),
        "{text}"
    );
    let future = serde_json::json!({ "schema": 99, "cells": [] });
    let e = parse(future.to_string().as_bytes(), "x.json", Accept::CurrentOrOlder).unwrap_err();
    assert!(matches!(e, ReadError::Schema { found: 99, .. }), "{e}");
}

#[test]
fn the_summary_counts_the_open_loop_steps_measured_cleanly_and_whose_limit_the_others_met() {
    let mut r = fixture::results();
    let n = crate::points::load_points(&r).len() / 2;
    assert!(n >= 3, "the fixture has a step at each fraction in several cells");
    // The fixture's 50 % steps reach their rate; its 90 % steps miss it with the client on time.
    assert_eq!(
        crate::table::open_loop_lines(&r),
        [
            format!("open loop at 50 % of each maximum: {n} of {n} steps measured the server cleanly (100 %)"),
            format!(
                "open loop at 90 % of each maximum: 0 of {n} steps measured the server cleanly (0 %); \
                 not: {n} the server's limit"
            ),
        ]
    );
    let mut cpu = r.cells[0].cpu.clone().unwrap();
    cpu.noise = Some(model::noise::Noise {
        client_steal: 0.2,
        ..Default::default()
    });
    let mut steps = r.cells.iter_mut().flat_map(|c| c.open_loop.iter_mut());
    steps.find(|o| o.fraction == 0.5).unwrap().cpu = Some(cpu);
    steps.find(|o| o.fraction == 0.9).unwrap().load.client_saturated = true;
    let lines = crate::table::open_loop_lines(&r);
    assert!(
        lines[0].contains(&format!("{} of {n}", n - 1))
            && lines[0].ends_with("not: 1 the machine's noise (steal or other work)"),
        "{lines:?}"
    );
    assert!(
        lines[1].ends_with(&format!(
            "not: {} the server's limit, 1 the client's CPU saturated",
            n - 1
        )),
        "{lines:?}"
    );
    assert!(crate::table::render(&r).contains(&lines[1]), "the summary prints them");
}

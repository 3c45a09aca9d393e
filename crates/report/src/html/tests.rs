use super::*;
use crate::fixture;
use crate::svg;

/// The fixture, with a latency histogram in every cell (so the spectra are drawn) and a failure.
fn results() -> Results {
    let mut r = fixture::results();
    for (i, c) in r.cells.iter_mut().enumerate() {
        for v in 0..2000u64 {
            c.load.histograms.latency.0.record(100 + v * (i as u64 + 1)).unwrap();
        }
    }
    r.failures.push(model::results::Failure {
        strategy: "alpha".into(),
        cores: 2,
        workload: model::workload::Workload::from("close"),
        repeat: 0,
        error: "the strategy exited: <port taken> & more".into(),
    });
    r
}

#[test]
fn the_page_names_every_strategy_and_every_figure_of_its_results() {
    let r = results();
    let html = page(&r).unwrap();
    for s in r.strategies().iter().chain(r.skipped.iter().map(|s| &s.strategy)) {
        assert!(
            html.contains(&format!("{s}</span>")) || html.contains(s.as_str()),
            "lacks {s}"
        );
    }
    let figures = svg::Svg.render(&r).unwrap();
    assert!(
        figures.iter().any(|(n, _)| n == "spectrum-keepalive-cores-1.svg"),
        "{figures:?}"
    );
    for (name, bytes) in &figures {
        let stem = name.trim_end_matches(".svg");
        assert!(
            html.contains(&format!("<figure id=\"fig-{stem}\">")),
            "lacks figure {name}"
        );
        let svg = String::from_utf8_lossy(bytes);
        assert!(html.contains(svg.as_ref()), "{name} is not inline whole");
    }
    assert_eq!(html.matches("<figure ").count(), figures.len());
    assert_eq!(
        html.matches("<figcaption>").count(),
        figures.len(),
        "a caption for every figure"
    );
}

#[test]
fn the_page_is_in_reading_order_and_escapes_what_it_quotes() {
    let html = page(&results()).unwrap();
    let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("lacks {needle}"));
    let order = [
        "Which way of spreading connections",
        "id=\"verdict\"",
        "id=\"figures-keepalive\"",
        "id=\"summary\"",
        "id=\"fairness\"",
        "id=\"cpu\"",
        "id=\"skipped\"",
        "id=\"failures\"",
        "id=\"placement\"",
        "id=\"about\"",
    ];
    for pair in order.windows(2) {
        assert!(at(pair[0]) < at(pair[1]), "{} before {}", pair[0], pair[1]);
    }
    assert!(
        html.contains("keepalive, 1 core, CPU per request: alpha leads; ahead of 1 (beta)"),
        "the verdict names the leader: {html}"
    );
    assert!(html.contains("<svg class=\"whisker\""), "the interval is drawn");
    assert!(html.contains("the strategy exited: &lt;port taken&gt; &amp; more"));
    assert!(!html.contains("<port taken>"));
    assert!(html.contains("needs nginx on PATH") && html.contains("rustc 1.95.0"));
    assert!(html.contains("<table class=\"sortable\">") && html.contains("data-ready"));
}

#[test]
fn the_page_needs_no_network() {
    let html = page(&results()).unwrap();
    for attr in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "@import",
        "url(",
    ] {
        assert!(!html.contains(attr), "the page loads something from outside: {attr}");
    }
}

#[test]
fn a_page_without_cells_still_reads() {
    let mut r = results();
    r.cells.clear();
    let html = page(&r).unwrap();
    assert!(
        html.contains("No cell measured yet") && html.contains("Failed cells"),
        "{html}"
    );
}

#[test]
fn escaping() {
    assert_eq!(esc("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
}

#[test]
fn a_fault_gets_its_table_and_its_timeline() {
    let mut r = results();
    assert!(!page(&r).unwrap().contains("id=\"faults\""), "no fault, no section");
    let c = &mut r.cells[0];
    c.fault = Some(model::fault::FaultReport {
        kind: Some(model::fault::FaultKind::Kill),
        worker: Some(0),
        at_ms: Some(1000.0),
        dip: 0.25,
        recovery_ms: Some(300.0),
        ..Default::default()
    });
    let n = 20;
    c.load.timeline = Some(model::timeline::TimelineReport {
        interval_ms: 100,
        ok: vec![500; n],
        non_2xx: vec![0; n],
        errors: vec![0; n],
        errors_connect: vec![0; n],
        errors_reset: vec![0; n],
        errors_timeout: vec![0; n],
        errors_protocol: vec![0; n],
        p50_us: vec![100; n],
        p99_us: vec![900; n],
        max_us: vec![2000; n],
        per_worker: Default::default(),
    });
    let html = page(&r).unwrap();
    assert!(html.contains("id=\"faults\""), "a faults section");
    assert!(html.contains("kill w0"), "the fault's row");
    assert!(html.contains("recovered") || html.contains(">300<"), "its recovery");
    let stem = format!("timeline-{}", r.cells[0].workload.name());
    assert!(
        html.contains(&format!("<figure id=\"fig-{stem}\">")),
        "its timeline figure"
    );
    assert!(html.contains("Around the fault"));
}

#[test]
fn each_open_loop_step_says_whether_it_measured_the_server_and_whose_limit_it_met() {
    let mut r = results();
    let page = super::page(&r).unwrap();
    assert!(page.contains("Latency under load, step by step"), "{page}");
    // The fixture's 90 % steps miss their rate with the client idle and on time: the server's.
    assert!(
        page.contains("<td>yes</td>") && page.contains("no: the server: "),
        "{page}"
    );
    for c in r.cells.iter_mut() {
        for o in c.open_loop.iter_mut().filter(|o| o.load.rate_reached == Some(false)) {
            o.load.client_saturated = true;
        }
    }
    let page = super::page(&r).unwrap();
    assert!(page.contains("no: the client was saturated"), "{page}");
    assert!(!page.contains("no: the server: "), "{page}");
}

/// A step that reached its rate in a window the machine spoiled even after its redos is not
/// called clean: not in the table, not in the figure's points.
#[test]
fn a_step_the_machine_spoiled_is_not_measured_cleanly() {
    let mut r = results();
    let clean = |r: &model::results::Results| crate::points::load_points(r).iter().filter(|p| p.clean()).count();
    let before = clean(&r);
    assert!(before > 0, "the fixture's 50 % steps are clean");
    let mut cpu = r.cells[0].cpu.clone().unwrap();
    cpu.noise = Some(model::noise::Noise {
        client_steal: 0.2,
        ..cpu.noise.clone().unwrap_or_default()
    });
    let step = r.cells[0]
        .open_loop
        .iter_mut()
        .find(|o| o.load.rate_reached == Some(true))
        .unwrap();
    step.cpu = Some(cpu);
    assert_eq!(clean(&r), before - 1);
    let page = super::page(&r).unwrap();
    assert!(page.contains("no: the machine's noise, steal 20.0 %"), "{page}");
    // The client's CPUs' own steal and other work, beside the wake-ups they delayed.
    assert!(page.contains("<td>20.0 % / 0.2 %</td>"), "{page}");
}

#[test]
fn the_head_says_whether_the_sweep_finished_though_its_rounds_were_uneven() {
    let mut r = fixture::results();
    // An extra round for one strategy only, as `repeats = "auto"` gives an undecided comparison.
    let mut extra = r.cells[0].clone();
    extra.repeat = 3;
    r.cells.push(extra);
    let head = |r: &Results| page(r).unwrap();
    assert!(head(&r).contains("cells measured, the sweep finished"), "{}", head(&r));
    assert!(!head(&r).contains("so far"));
    // The file written after a window of the first rounds: the page says how far it got.
    r.finished = false;
    r.cells.truncate(3);
    let partial = head(&r);
    assert!(partial.contains("3 cells measured of 12 planned so far"), "{partial}");
}

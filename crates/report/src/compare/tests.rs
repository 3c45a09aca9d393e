use super::render::{render_markdown, render_text};
use super::*;
use crate::{fixture, json, write};
use model::results::SCHEMA;

/// The change of `metric` (its index in METRICS) in the row of (strategy, cores).
fn change<'a>(c: &'a Outcome, strategy: &str, cores: usize, metric: usize) -> &'a Change {
    let row = c
        .rows
        .iter()
        .find(|r| r.strategy == strategy && r.cores == cores)
        .unwrap();
    &row.changes[metric]
}

#[test]
fn a_run_compared_with_itself_calls_nothing_and_client_bound_throughput_is_not_compared() {
    let r = fixture::results();
    let c = compare(&r, &r);
    assert_eq!(c.rows.len(), 4);
    assert!(c.only_base.is_empty() && c.only_new.is_empty() && c.warnings.is_empty());
    for row in &c.rows {
        for ch in &row.changes {
            assert!(!matches!(ch.call, Call::Better | Call::Worse), "{row:?}");
        }
    }
    // alpha at 1 core was the server's limit; every other cell's client saturated or shared.
    assert_eq!(change(&c, "alpha", 1, 0).call, Call::Equivalent);
    assert_eq!(change(&c, "beta", 1, 0).call, Call::ClientBound);
    assert_eq!(
        change(&c, "beta", 2, 2).call,
        Call::Equivalent,
        "CPU per request is compared"
    );
    assert_eq!(
        change(&c, "beta", 2, 1).call,
        Call::NotMeasured,
        "no common-rate window"
    );
    let text = render_text(&c);
    assert!(
        text.contains("throughput: 1 cells compared, 0 better, 0 worse, 1 equivalent, 0 undecided"),
        "{text}"
    );
    assert_eq!(c.verdicts().len(), 5, "throughput once, CPU per request four times");
}

#[test]
fn a_change_beyond_the_interval_is_called_and_the_table_says_by_how_much() {
    let base = fixture::results();
    let mut new = base.clone();
    for c in new.cells.iter_mut() {
        if c.strategy == "alpha" && c.cores == 1 {
            c.load.rps *= 1.2;
        }
        if c.strategy == "beta" {
            c.cpu.as_mut().unwrap().server_cpu_us_per_request *= 0.8;
        }
    }
    let c = compare(&base, &new);
    let t = change(&c, "alpha", 1, 0);
    assert_eq!(t.call, Call::Better, "{t:?}");
    assert!(t.words().starts_with("+20.0 % (+"), "{}", t.words());
    let cpu = change(&c, "beta", 1, 2);
    assert_eq!(cpu.call, Call::Better, "cheaper is better: {cpu:?}");
    assert!(cpu.words().starts_with("-20.0 %"), "{}", cpu.words());
    let v = cpu.verdict.as_ref().unwrap();
    assert_eq!((v.a.as_str(), v.b.as_str()), ("NEW beta", "BASE beta"));
    assert!(render_markdown(&c).contains("| +20.0 % (+"));
    let back = compare(&new, &base);
    assert_eq!(change(&back, "alpha", 1, 0).call, Call::Worse);
}

#[test]
fn within_the_margin_is_equivalent_and_one_run_has_no_spread() {
    let base = fixture::results();
    let mut new = base.clone();
    for c in new.cells.iter_mut() {
        c.load.rps *= 1.0002;
    }
    assert_eq!(change(&compare(&base, &new), "alpha", 1, 0).call, Call::Equivalent);
    let mut single = base.clone();
    single.cells.retain(|c| c.repeat == 0);
    let mut faster = single.clone();
    for c in faster.cells.iter_mut() {
        c.load.rps *= 2.0;
    }
    let c = compare(&single, &faster);
    assert_eq!(change(&c, "alpha", 1, 0).call, Call::OneRun);
    let text = render_text(&c);
    assert!(text.contains("+100.0 % undecided*") && text.contains(ONE_RUN), "{text}");
}

/// `n` server-bound strategies at 1 core, 4 rounds, req/s with a 2 % spread.
fn many(n: usize, seed: u64) -> Results {
    let (mut r, template) = fixture::emptied();
    let mut uniform = fixture::uniforms(seed);
    for s in 0..n {
        for round in 0..4 {
            let mut c = template.clone();
            c.strategy = format!("s{s}");
            c.repeat = round;
            c.load.rps = 1000.0 * (s + 1) as f64 * (0.98 + 0.04 * uniform());
            r.cells.push(c);
        }
    }
    r
}

#[test]
fn a_shift_of_every_strategy_is_taken_out_and_said_and_one_that_moved_alone_is_called() {
    let base = many(8, 3);
    let mut new = many(8, 5);
    for c in new.cells.iter_mut() {
        // The machine is 20 % slower today; s3 itself lost 40 %.
        c.load.rps *= if c.strategy == "s3" { 0.6 } else { 0.8 };
    }
    let c = compare(&base, &new);
    let calls: Vec<(String, Call)> = c.rows.iter().map(|r| (r.strategy.clone(), r.changes[0].call)).collect();
    for (s, call) in &calls {
        let want = if s == "s3" { Call::Worse } else { *call };
        assert_eq!(*call, want, "{calls:?}");
        assert!(s == "s3" || !matches!(call, Call::Better | Call::Worse), "{calls:?}");
    }
    assert!((c.shifts[0].1 - 0.8).abs() < 0.02, "{:?}", c.shifts);
    assert!(
        c.warnings
            .iter()
            .any(|w| w.starts_with("throughput moved by -20.") && w.contains("in the median cell")),
        "{:?}",
        c.warnings
    );
    assert!(
        render_text(&c).contains("every cell's shift -20."),
        "{}",
        render_text(&c)
    );
}

#[test]
fn cells_of_one_run_only_are_listed_and_differences_warned() {
    let base = fixture::results();
    let mut new = base.clone();
    new.cells.retain(|c| !(c.strategy == "alpha" && c.cores == 2));
    new.machine.kernel = "6.18.0".into();
    new.versions.strategies.insert("alpha".into(), "alpha 2.0".into());
    let c = compare(&base, &new);
    assert_eq!(c.rows.len(), 3);
    assert_eq!(c.only_base, [("alpha".to_string(), 2, Workload::from("keepalive"))]);
    assert!(render_text(&c).contains("only in BASE: alpha cores=2 keepalive"));
    assert_eq!(
        c.warnings,
        [
            "the kernel differs: BASE 6.1.0, NEW 6.18.0",
            "alpha's program differs: BASE alpha 1.0, NEW alpha 2.0"
        ]
    );
}

#[test]
fn results_of_another_schema_are_refused_with_how_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(&fixture::results(), dir.path(), &[&json::Json])
        .unwrap()
        .remove(0);
    assert_eq!(read(&file).unwrap(), fixture::results());
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("schema");
    std::fs::write(&file, v.to_string()).unwrap();
    let e = format!("{:#}", read(&file).unwrap_err());
    assert!(
        e.contains("has results schema 1") && e.contains(&format!("reads schema {SCHEMA}")) && e.contains("re-run"),
        "{e}"
    );
}

use super::render::{render_markdown, render_text};
use super::*;
use crate::{fixture, json, write};
use model::results::SCHEMA;

#[test]
fn a_run_compared_with_itself_is_within_noise_everywhere() {
    let r = fixture::results();
    let c = compare(&r, &r);
    assert_eq!(c.rows.len(), 4);
    assert!(c.only_base.is_empty() && c.only_new.is_empty() && c.warnings.is_empty());
    for row in &c.rows {
        for ch in &row.changes {
            assert_eq!(ch.call, Call::WithinNoise, "{row:?}");
            assert_eq!(ch.ratio(), Some(1.0));
        }
    }
    let text = render_text(&c);
    assert!(
        text.contains("throughput: 4 cells, 0 better, 0 worse, 4 within noise (100 %"),
        "{text}"
    );
}

#[test]
fn a_strategy_faster_beyond_the_spread_is_better_and_the_table_says_by_how_much() {
    let base = fixture::results();
    let mut new = base.clone();
    for c in new.cells.iter_mut().filter(|c| c.strategy == "beta") {
        c.load.rps *= 1.2;
    }
    let c = compare(&base, &new);
    for row in &c.rows {
        let want = if row.strategy == "beta" {
            Call::Better
        } else {
            Call::WithinNoise
        };
        assert_eq!(row.changes[0].call, want, "{row:?}");
        assert_eq!(row.changes[1].call, Call::WithinNoise, "p99 did not move: {row:?}");
    }
    let text = render_text(&c);
    assert!(text.contains("+20.0 % better"), "{text}");
    assert!(text.contains("2001 (2000–2002)"), "the spread of both runs: {text}");
    assert!(render_markdown(&c).contains("| +20.0 % better |"));
    // Slower by as much: worse, the other way round.
    let back = compare(&new, &base);
    assert!(back.rows.iter().any(|r| r.changes[0].call == Call::Worse));
    assert!(render_text(&back).contains("-16.7 % worse"), "{}", render_text(&back));
}

#[test]
fn within_the_spread_is_no_call_and_one_run_has_no_spread() {
    let base = fixture::results();
    let mut new = base.clone();
    // 0.02 % faster: less than any point's own spread (2 req/s between its runs).
    for c in new.cells.iter_mut() {
        c.load.rps *= 1.0002;
    }
    assert!(compare(&base, &new)
        .rows
        .iter()
        .all(|r| r.changes[0].call == Call::WithinNoise));
    let mut single = base.clone();
    single.cells.retain(|c| c.repeat == 0);
    let mut faster = single.clone();
    for c in faster.cells.iter_mut() {
        c.load.rps *= 2.0;
    }
    let c = compare(&single, &faster);
    assert!(c.rows.iter().all(|r| r.changes[0].call == Call::OneRun));
    let text = render_text(&c);
    assert!(
        text.contains("+100.0 % within noise*") && text.contains(ONE_RUN),
        "{text}"
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

#[test]
fn every_strategy_moving_together_is_called_out() {
    let base = fixture::results();
    let mut new = base.clone();
    for c in new.cells.iter_mut() {
        c.load.rps *= 0.8;
    }
    let c = compare(&base, &new);
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(
        c.warnings[0].starts_with("throughput moved by -20.0 % in the median cell"),
        "{:?}",
        c.warnings
    );
    assert!(compare(&base, &base).warnings.is_empty());
}

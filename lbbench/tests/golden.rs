//! Results files written by lbbench stay readable when the code moves.
//!
//! fixtures/golden/v4 is this schema's (a sweep of reuseport, nginx and reuseport+node with
//! repeats, open-loop steps, a capacity search and a fault; `g.toml` beside it is the profile that
//! wrote it): it reads,
//! writes back byte for byte the same, and re-plots to the same CSV and markdown. When a change of
//! method changes the summary on purpose, run the profile again (`lbbench run -c g.toml` in that
//! directory) and replace the three files in the same commit.
//!
//! fixtures/golden/v3 was written before workers were an axis (schema 4): it reads as older,
//! re-plots to the same CSV and markdown, and written back gains only the key schema 4 added.
//!
//! fixtures/golden/v2 was written before the crates were split and before schema 3: it still
//! reads and re-plots to the same CSV (the figures). Its summary is not compared: the verdict is
//! derived again by this lbbench's statistics.

use std::path::{Path, PathBuf};
use std::process::Command;

fn golden(schema: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/golden")
        .join(schema)
        .join(name)
}

/// `lbbench plot` of a fixture into a fresh directory.
fn plotted(schema: &str) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let plot = Command::new(env!("CARGO_BIN_EXE_lbbench"))
        .arg("plot")
        .arg(golden(schema, "results.json"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(plot.status.success(), "{}", String::from_utf8_lossy(&plot.stderr));
    out
}

fn same(schema: &str, out: &Path, file: &str) {
    let want = std::fs::read_to_string(golden(schema, file)).unwrap();
    let got = std::fs::read_to_string(out.join(file)).unwrap();
    assert!(want == got, "{file} differs:\n--- before\n{want}\n--- now\n{got}");
}

#[test]
fn a_results_file_round_trips_byte_for_byte() {
    let bytes = std::fs::read(golden("v4", "results.json")).unwrap();
    let results = model::read::parse(&bytes, "golden", model::read::Accept::Current).unwrap();
    assert!(
        results.cells.iter().any(|c| c.worker == "node") && results.cells.iter().all(|c| !c.worker.is_empty()),
        "every cell of schema 4 records its worker"
    );
    let written = report::Exporter::render(&report::json::Json, &results).unwrap();
    assert_eq!(written.len(), 1);
    assert!(
        written[0].1 == bytes,
        "results.json written back differs from the file read"
    );
}

#[test]
fn a_results_file_plots_the_same_csv_and_markdown() {
    for schema in ["v4", "v3"] {
        let out = plotted(schema);
        for file in ["results.csv", "summary.md"] {
            same(schema, out.path(), file);
        }
    }
}

#[test]
fn a_file_from_before_the_worker_axis_gains_only_its_key() {
    let bytes = std::fs::read(golden("v3", "results.json")).unwrap();
    assert!(model::read::parse(&bytes, "golden", model::read::Accept::Current).is_err());
    let results = model::read::parse(&bytes, "golden", model::read::Accept::CurrentOrOlder).unwrap();
    assert!(
        results.cells.iter().all(|c| c.worker.is_empty()),
        "schema 3 did not record workers"
    );
    let written = report::Exporter::render(&report::json::Json, &results).unwrap();
    let mut back: serde_json::Value = serde_json::from_slice(&written[0].1).unwrap();
    // It ran every strategy it was named: no worker filter.
    let sweep = back["config"]["sweep"].as_object_mut().unwrap();
    assert_eq!(sweep.remove("workers"), Some(serde_json::json!([])));
    let before: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(
        back == before,
        "a schema-3 file written back changed besides sweep.workers"
    );
}

#[test]
fn an_older_results_file_reads_and_plots_the_same_csv() {
    let bytes = std::fs::read(golden("v2", "results.json")).unwrap();
    let current = model::read::parse(&bytes, "golden", model::read::Accept::Current);
    assert!(
        current.is_err(),
        "schema 2 is not this lbbench's: a comparison must refuse it"
    );
    let results = model::read::parse(&bytes, "golden", model::read::Accept::CurrentOrOlder).unwrap();
    assert_eq!(results.cells.len(), 4 * 2, "two strategies, two workloads, two repeats");
    same("v2", plotted("v2").path(), "results.csv");
}

#[test]
fn an_older_results_file_loses_nothing_written_back() {
    let bytes = std::fs::read(golden("v2", "results.json")).unwrap();
    let results = model::read::parse(&bytes, "golden", model::read::Accept::CurrentOrOlder).unwrap();
    let written = report::Exporter::render(&report::json::Json, &results).unwrap();
    let mut back: serde_json::Value = serde_json::from_slice(&written[0].1).unwrap();
    // The keys schemas 3 and 4 added, as what the older lbbench did (it restarted every cell's strategy
    // and had no common-rate pass) or, where that made no difference, today's default.
    let config = &mut back["config"];
    let sweep = config["sweep"].as_object_mut().unwrap();
    assert_eq!(sweep.remove("design"), Some(serde_json::json!("restart")));
    assert_eq!(sweep.remove("workers"), Some(serde_json::json!([])), "schema 4's key");
    for key in ["min_repeats", "max_repeats"] {
        assert!(sweep.remove(key).is_some(), "{key}");
    }
    let load = config["load"].as_object_mut().unwrap();
    assert_eq!(load.remove("common_rate"), Some(serde_json::json!(0.0)));
    let before: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert!(
        back == before,
        "an older file written back lost or changed something besides those keys"
    );
}

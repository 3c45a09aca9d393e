//! A results file written by an earlier lbbench (fixtures/golden: a sweep of reuseport and nginx
//! with repeats, open-loop steps, a capacity search and a fault, written before the crates were
//! split) still reads, writes back byte for byte the same, and re-plots to the same CSV and
//! markdown: no user's results file breaks when the code moves.

use std::path::Path;
use std::process::Command;

fn golden(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/golden")
        .join(name)
}

#[test]
fn an_older_results_file_round_trips_byte_for_byte() {
    let bytes = std::fs::read(golden("results.json")).unwrap();
    let results = model::read::parse(&bytes, "golden", model::read::Accept::Current).unwrap();
    let written = report::Exporter::render(&report::json::Json, &results).unwrap();
    assert_eq!(written.len(), 1);
    assert!(
        written[0].1 == bytes,
        "results.json written back differs from the file read"
    );
}

#[test]
fn an_older_results_file_plots_the_same_csv_and_markdown() {
    let out = tempfile::tempdir().unwrap();
    let plot = Command::new(env!("CARGO_BIN_EXE_lbbench"))
        .arg("plot")
        .arg(golden("results.json"))
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    assert!(plot.status.success(), "{}", String::from_utf8_lossy(&plot.stderr));
    for file in ["results.csv", "summary.md"] {
        let (want, got) = (
            std::fs::read_to_string(golden(file)).unwrap(),
            std::fs::read_to_string(out.path().join(file)).unwrap(),
        );
        assert!(want == got, "{file} differs:\n--- before\n{want}\n--- now\n{got}");
    }
}

//! results/index.html as people see it: a tiny real sweep writes it; it names every strategy and
//! figure of that run; headless Chromium loads it and must print nothing to its console (every
//! console message and uncaught exception is logged to stderr as a "CONSOLE" line), must request
//! nothing from the network (its net log, where the page's own requests carry a file:// isolation
//! key), the page's script must run to its end, and a screenshot is saved. Without Chromium the
//! browser trials are reported ignored outside CI; `.ci/run` installs Debian's `chromium`.

mod common;

use common::{copy_of_reuseport, debug_bin, lbbench, servers, text};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;
use testkit::{output_within, trial, Needs};

const STRATEGIES: [&str; 2] = ["copy-one", "copy-two"];
const PROFILE: &str = "[sweep]\ncores = [1]\nrepeats = 2\n[load]\nconnections = 8\nduration = \"300ms\"\n\
                       warmup = \"100ms\"\nopen_loop = [0.5]\nopen_loop_duration = \"200ms\"\n";

fn main() {
    let chromium = Needs::programs(&["chromium"]);
    testkit::run_trials(vec![
        trial(
            "the_page_names_every_strategy_and_figure_of_its_run",
            Needs::NOTHING,
            the_page_names_every_strategy_and_figure_of_its_run,
        ),
        trial(
            "the_page_renders_in_chromium_without_a_console_message",
            chromium,
            the_page_renders_in_chromium_without_a_console_message,
        ),
        trial(
            "lbbench_compare_of_a_run_with_itself_calls_nothing_and_its_page_renders",
            chromium,
            lbbench_compare_of_a_run_with_itself_calls_nothing_and_its_page_renders,
        ),
        trial(
            "the_console_check_catches_a_broken_page",
            chromium,
            the_console_check_catches_a_broken_page,
        ),
    ]);
}

/// Where this test leaves its files (the screenshot among them), emptied at each run.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The results directory of one tiny sweep of two strategies, run once for every trial.
fn sweep() -> &'static Path {
    static RESULTS: OnceLock<PathBuf> = OnceLock::new();
    RESULTS.get_or_init(|| {
        let bin = debug_bin("reuseport");
        let manifests: Vec<(&str, String)> = STRATEGIES.iter().map(|s| (*s, copy_of_reuseport(s))).collect();
        let root = servers(&manifests);
        std::fs::write(root.path().join("p.toml"), PROFILE).unwrap();
        let out = scratch("results");
        let run = lbbench(
            root.path(),
            &bin,
            &["run", "-c", "p.toml", "--out", out.to_str().unwrap()],
        );
        assert!(run.status.success(), "{}", text(&run.stderr));
        out
    })
}

fn the_page_names_every_strategy_and_figure_of_its_run() {
    let dir = sweep();
    let page = std::fs::read_to_string(dir.join("index.html")).unwrap();
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let mut named: Vec<&str> = results["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["strategy"].as_str().unwrap())
        .collect();
    named.sort_unstable();
    named.dedup();
    assert_eq!(named, STRATEGIES);
    for s in STRATEGIES {
        assert!(page.contains(&format!("{s}</span>")), "the page does not name {s}");
    }
    let mut figures = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".svg") {
            figures += 1;
            assert!(
                page.contains(&format!("<figure id=\"fig-{stem}\">")),
                "no figure {name}"
            );
            let svg = std::fs::read_to_string(entry.path()).unwrap();
            assert!(page.contains(&svg), "{name} is not inline, whole");
        }
    }
    assert!(
        figures >= 12,
        "throughput, latency, spectrum, fairness, CPU ×2, load: {figures}"
    );
    assert!(page.contains("spectrum-keepalive-cores-1") && page.contains("id=\"verdict\""));
}

/// What Chromium showed of a page.
struct Visit {
    stdout: String,
    /// Every console line on stderr.
    console: Vec<String>,
    /// Every network request the page made (not the browser's own).
    requests: Vec<String>,
}

/// Chromium, headless and offline, on `page` with `args`.
fn chromium(page: &Path, args: &[&str]) -> Visit {
    let profile = tempfile::tempdir().unwrap();
    let net_log = profile.path().join("net-log.json");
    let mut cmd = Command::new("chromium");
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        // Any request off this machine fails (and is still in the net log).
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--enable-logging=stderr",
        "--v=0",
        "--window-size=1366,900",
    ])
    .arg(format!("--user-data-dir={}", profile.path().join("profile").display()))
    .arg(format!("--log-net-log={}", net_log.display()))
    .args(args)
    .arg(format!("file://{}", page.display()));
    let out = output_within(&mut cmd, Duration::from_secs(90)).unwrap();
    assert!(out.status.success(), "chromium failed: {}", text(&out.stderr));
    // Every console message (log, warning, error, uncaught exception) is logged as
    // "...:CONSOLE(...)] ..." whatever its level.
    let console = text(&out.stderr)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(String::from)
        .collect();
    Visit {
        stdout: text(&out.stdout),
        console,
        requests: page_requests(&net_log),
    }
}

/// URLs the page requested over the network: in the net log, the requests whose network
/// isolation key is the file:// page (the browser's own carry another or none).
fn page_requests(net_log: &Path) -> Vec<String> {
    let log: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(net_log).unwrap()).unwrap();
    let mut urls: Vec<String> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["params"])
        .filter(|p| {
            p["network_isolation_key"]
                .as_str()
                .is_some_and(|k| k.starts_with("file://"))
        })
        .filter_map(|p| p["url"].as_str().map(String::from))
        .collect();
    urls.dedup();
    urls
}

fn the_page_renders_in_chromium_without_a_console_message() {
    let page = sweep().join("index.html");
    let visit = chromium(&page, &["--dump-dom"]);
    assert!(visit.console.is_empty(), "console messages: {:#?}", visit.console);
    assert!(visit.requests.is_empty(), "network requests: {:#?}", visit.requests);
    assert!(
        visit.stdout.contains("data-ready=\"yes\""),
        "the page's script did not run to its end"
    );
    assert!(
        visit.stdout.contains("tabindex=\"0\""),
        "the sortable headers were not set up"
    );
    let shot = scratch("screenshot").join("index.png");
    let visit = chromium(
        &page,
        &["--hide-scrollbars", &format!("--screenshot={}", shot.display())],
    );
    assert!(visit.console.is_empty(), "console messages: {:#?}", visit.console);
    let png = std::fs::read(&shot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "not a PNG: {}", shot.display());
    // A blank 1366×900 page compresses to a few kB; the verdict table and the legend do not.
    assert!(png.len() > 30_000, "{} is nearly empty", shot.display());
    println!("screenshot: {}", shot.display());
}

/// `lbbench compare` on a real results file against itself: no cell called better or worse, no
/// warning; its HTML page passes the same browser checks as the results page.
fn lbbench_compare_of_a_run_with_itself_calls_nothing_and_its_page_renders() {
    let results = sweep().join("results.json");
    let page = scratch("compare").join("compare.html");
    let out = Command::new(env!("CARGO_BIN_EXE_lbbench"))
        .arg("compare")
        .args([&results, &results])
        .arg("--html")
        .arg(&page)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "no warning comparing a run with itself");
    let table = text(&out.stdout);
    // Throughput is not compared where the client was the bottleneck (it is here, at 1 core):
    // every metric's line that is printed calls nothing, and CPU per request is always compared.
    let lines: Vec<&str> = table.lines().filter(|l| l.contains(" cells compared, ")).collect();
    assert!(
        lines.iter().any(|l| l.starts_with("CPU per request: 4 cells compared")),
        "{table}"
    );
    for line in lines {
        assert!(line.contains(", 0 better, 0 worse, "), "{line}\n{table}");
    }
    let visit = chromium(&page, &["--dump-dom"]);
    assert!(visit.console.is_empty(), "console messages: {:#?}", visit.console);
    assert!(visit.requests.is_empty(), "network requests: {:#?}", visit.requests);
    assert!(visit.stdout.contains("data-ready=\"yes\""));
    for s in STRATEGIES {
        assert!(visit.stdout.contains(s), "the compare page does not name {s}");
    }
}

/// The checks above can fail: a page with a script error and an image from a CDN is caught.
fn the_console_check_catches_a_broken_page() {
    let dir = scratch("broken");
    let page = dir.join("broken.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><img src=\"https://cdn.example.com/x.png\">\
         <script>undefinedFunction();</script></body></html>",
    )
    .unwrap();
    let visit = chromium(&page, &["--dump-dom"]);
    assert!(
        visit
            .console
            .iter()
            .any(|l| l.contains("undefinedFunction is not defined")),
        "{:#?}",
        visit.console
    );
    assert_eq!(visit.requests, ["https://cdn.example.com/x.png"]);
}

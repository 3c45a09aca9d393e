//! Every strategy `lbbench list` says reloads does so through `lbbench run`, for real: the Rust
//! masters, the Node program and PM2 replace both workers, nginx and haproxy start new processes
//! of their own, and `cluster-rr` and `shared-socket*` lose no keep-alive request to it. Nothing
//! here reads a cell's figures for speed (a replacement comes within a long window, a request is
//! lost only when it fails), so trials run three at a time (four, under the hog, passed too; a
//! Node worker's cold start is what a fourth would crowd).

mod common;

use common::faults::{num, reloadable, run_cell, PROFILE};
use common::{all_debug_bins, strategies};
use std::path::Path;
use testkit::trial_unless;

fn main() {
    let bin = all_debug_bins();
    let reloadable = reloadable(&bin);
    let mut trials = Vec::new();
    // The strategies with their own workers: a pair's reload is its launcher's (tried here) with
    // another program's graceful stop, which promises nothing of the queued connections (see
    // workers/README.md).
    let own = |n: &String| !n.contains('+');
    for (name, why) in strategies(&bin)
        .into_iter()
        .filter(|(n, _)| reloadable.contains(n) && own(n))
    {
        let b = bin.clone();
        trials.push(trial_unless(
            format!("reload_replaces_workers::{name}"),
            why,
            move || reload_replaces_workers(&b, &name),
        ));
    }
    testkit::run_trials_at_once(trials, 3);
}

fn reload_replaces_workers(bin: &Path, strategy: &str) {
    // Workers are replaced one after the other, and Node's take a while to start (a cold JIT,
    // seconds on a busy machine; once, beside the other trials, one of two was not yet replaced
    // 11 s after the reload): a long window to watch them in. A request unanswered for 5 s is
    // lost, not slow.
    let window = if strategy.starts_with("node") || strategy.starts_with("pm2") {
        "\"20s\""
    } else {
        "\"6s\""
    };
    let profile = format!(
        "{}[fault]\nkind = \"reload\"\nat = \"1s\"\n",
        PROFILE.replace("\"3s\"", window).replace("\"1s\"", "\"5s\"")
    );
    let (_, f) = run_cell(bin, strategy, &profile);
    assert!(f["note"].is_null(), "{strategy}: {}", f["note"]);
    assert!(f["at_ms"].is_number(), "{strategy}: not reloaded: {f}");
    let fronted = strategy.starts_with("nginx") || strategy.starts_with("haproxy");
    if fronted {
        // The front program reloads its own processes; the Hello World workers behind it stay.
        assert!(
            num(&f["processes_started"]) >= 1.0,
            "{strategy}: nothing new after the reload: {f}"
        );
    } else {
        assert_eq!(f["workers_replaced"], 2, "{strategy}: not every worker replaced: {f}");
    }
    if ["cluster-rr", "shared-socket", "shared-socket-exclusive"].contains(&strategy) {
        let failed = num(&f["errors"]["reset"]) + num(&f["errors"]["timeout"]) + num(&f["errors"]["connect"]);
        assert_eq!(
            failed, 0.0,
            "{strategy}: a keep-alive client lost requests to a reload: {f}"
        );
    }
}

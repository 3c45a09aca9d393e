use super::*;
use std::path::Path;

fn layout() -> Layout {
    Layout::new("/repo".into(), "/repo/target/release".into())
}

const PY: &str = r#"
name = "py"
description = "a Python worker"
start = "python3 {dir}/hello.py --id {id} --port {port} --host {host}"
"#;

fn worker_error(text: &str) -> String {
    parse_worker(text, Path::new("/repo/workers/py/worker.toml"), &layout())
        .map(|w| format!("accepted: {w:?}"))
        .unwrap_or_else(|e| e.to_string())
}

#[test]
fn a_worker_manifest_with_an_unknown_key_or_no_start_is_refused_with_the_reason() {
    let err = worker_error(&format!("{PY}strat_fd = \"x {{fd}}\"\n"));
    assert!(
        err.contains("unknown field `strat_fd`") && err.contains("start_fd"),
        "{err}"
    );
    let err = worker_error("name = \"py\"\ndescription = \"d\"\n");
    assert!(err.contains("start: missing") && err.contains("worker.toml"), "{err}");
    let err = worker_error(&format!("{PY}start_fd = \"python3 x.py --port {{port}}\"\n"));
    assert!(err.contains("start_fd") && err.contains("{fd}"), "{err}");
    let err = worker_error("name = \"py\"\ndescription = \"d\"\nstart = \"python3 {nope}\"\n");
    assert!(err.contains("{nope}") && err.contains("{id}"), "{err}");
}

#[test]
fn a_pair_carries_the_workers_command_requirements_and_warm_up() {
    let w = parse_worker(
        &format!("{PY}warmup = \"2s\"\n[requires]\nprograms = [\"python3\"]\n"),
        Path::new("/repo/workers/py/worker.toml"),
        &layout(),
    )
    .unwrap();
    let front =
        "name = \"front\"\ndescription = \"d\"\nstart = \"{bin}/front --port {port}\"\n[worker]\ntakes = \"port\"\n";
    let s = parse(front, Path::new("/repo/servers/front/strategy.toml"), &layout()).unwrap();
    let all = super::worker::with_pairs(s, std::slice::from_ref(&w));
    let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["front", "front+py"]);
    let pair = &all[1];
    assert_eq!(
        (pair.worker_name.as_str(), all[0].worker_name.as_str()),
        ("py", IN_PROCESS)
    );
    assert_eq!(pair.warmup, Some(std::time::Duration::from_secs(2)));
    assert_eq!(pair.requires.programs, ["python3"]);
    let slot = Slot {
        workers: 2,
        port: 8080,
        cpus: "0".into(),
        host: "127.0.0.1".into(),
        run_dir: "/tmp/c".into(),
        stop_grace_ms: 1000,
    };
    let env = pair.launch(&slot, &layout()).unwrap().env;
    let exec = env.iter().find(|(k, _)| k == EXEC_ENV).map(|(_, v)| v.as_str());
    // The launcher fills the per-worker placeholders; lbbench filled {dir}.
    assert_eq!(
        exec,
        Some("python3 /repo/workers/py/hello.py --id {id} --port {port} --host {host}")
    );
    // A socket-taking launcher runs only workers that can take one.
    let socket = front.replace("\"port\"", "\"socket\"");
    let s = parse(&socket, Path::new("/repo/servers/front/strategy.toml"), &layout()).unwrap();
    assert_eq!(super::worker::with_pairs(s, &[w]).len(), 1);
}

#[test]
fn a_strategy_fronts_workers_or_is_one() {
    let both = "name = \"x\"\ndescription = \"d\"\nstart = \"a\"\n[worker]\ntakes = \"port\"\nis = \"node\"\n";
    let err = parse(both, Path::new("/repo/servers/x/strategy.toml"), &layout())
        .unwrap_err()
        .to_string();
    assert!(err.contains("exclude each other"), "{err}");
    let own = "name = \"x\"\ndescription = \"d\"\nstart = \"a\"\n[worker]\nis = \"node\"\n";
    assert_eq!(
        parse(own, Path::new("/repo/servers/x/strategy.toml"), &layout()).unwrap()[0].worker_name,
        "node"
    );
}

#[test]
fn a_sweep_picks_pairs_by_strategy_and_worker() {
    let w = parse_worker(PY, Path::new("/repo/workers/py/worker.toml"), &layout()).unwrap();
    let front = "name = \"front\"\ndescription = \"d\"\nstart = \"a\"\n[worker]\ntakes = \"port\"\n";
    let own = "name = \"own\"\ndescription = \"d\"\nstart = \"a\"\n[worker]\nis = \"node\"\n";
    let mut s = parse(front, Path::new("/repo/servers/front/strategy.toml"), &layout()).unwrap();
    s.extend(parse(own, Path::new("/repo/servers/own/strategy.toml"), &layout()).unwrap());
    let all = super::worker::with_pairs(s, &[w]);
    let pick = |wanted: &[&str], workers: Option<&[&str]>| {
        let wanted: Vec<String> = wanted.iter().map(|x| x.to_string()).collect();
        let workers: Option<Vec<String>> = workers.map(|w| w.iter().map(|x| x.to_string()).collect());
        crate::runner::prepare::select_with_workers(all.clone(), &wanted, workers.as_deref())
            .map(|v| v.into_iter().map(|s| s.name).collect::<Vec<_>>())
            .map_err(|e| e.to_string())
    };
    // Nothing named: the default workers, those of them that are here.
    assert_eq!(pick(&[], None).unwrap(), ["front", "own"]);
    assert_eq!(pick(&[], Some(&["py"])).unwrap(), ["front+py"]);
    assert_eq!(pick(&[], Some(&[])).unwrap(), ["front", "front+py", "own"]);
    // A profile that names strategies and no workers means just those.
    assert_eq!(pick(&["front"], None).unwrap(), ["front"]);
    assert_eq!(pick(&["front"], Some(&["hello", "py"])).unwrap(), ["front", "front+py"]);
    assert_eq!(pick(&["front+py"], None).unwrap(), ["front+py"]);
    let err = pick(&[], Some(&["nope"])).unwrap_err();
    assert!(
        err.contains("unknown worker \"nope\"") && err.contains("hello, node, py"),
        "{err}"
    );
}

use super::*;
use crate::template::render;
use std::collections::BTreeMap;
use std::path::Path;

fn layout() -> Layout {
    Layout::new("/repo".into(), "/repo/target/release".into())
}

fn slot() -> Slot {
    Slot {
        workers: 3,
        port: 8080,
        cpus: "0,1".into(),
        host: "127.0.0.1".into(),
        run_dir: "/tmp/cell".into(),
        stop_grace_ms: 1500,
    }
}

/// The error parsing `text` as servers/x/strategy.toml gives.
fn error_of(text: &str) -> String {
    parse(text, Path::new("servers/x/strategy.toml"), &layout())
        .unwrap_err()
        .to_string()
}

const GOOD: &str = r#"
name = "demo"
description = "a demo"
build = "cargo build --release -p demo"
start = "{bin}/demo --workers {workers} --port {port} --cpus {cpus} --stop-grace-ms {stop_grace_ms}"
env = { DEMO_DIR = "{run_dir}" }
"#;

#[test]
fn renders_every_placeholder() {
    let s = &parse(GOOD, Path::new("/repo/servers/demo/strategy.toml"), &layout()).unwrap()[0];
    let l = s.launch(&slot(), &layout()).unwrap();
    assert_eq!(
        l.argv,
        [
            "/repo/target/release/demo",
            "--workers",
            "3",
            "--port",
            "8080",
            "--cpus",
            "0,1",
            "--stop-grace-ms",
            "1500"
        ]
    );
    assert_eq!(l.env, [("DEMO_DIR".to_string(), "/tmp/cell".to_string())]);
    assert_eq!(
        s.build_argv(&layout()).unwrap(),
        ["cargo", "build", "--release", "-p", "demo"]
    );
}

#[test]
fn variants_become_strategies_with_their_params() {
    let text = r#"
name = "family"
description = "d"
start = "run --mode {mode}"
[[variants]]
name = "family-a"
description = "a"
params = { mode = "a" }
[[variants]]
name = "family-b"
description = "b"
params = { mode = "b" }
"#;
    let all = parse(text, Path::new("x/strategy.toml"), &layout()).unwrap();
    let names: Vec<_> = all.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["family-a", "family-b"]);
    assert_eq!(all[1].launch(&slot(), &layout()).unwrap().argv, ["run", "--mode", "b"]);
}

#[test]
fn errors_name_the_field_and_the_allowed_values() {
    let p = Path::new("servers/bad/strategy.toml");
    let err = parse(
        "name = \"x\"\ndescription = \"d\"\nstart = \"a {wrokers}\"\n",
        p,
        &layout(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("servers/bad/strategy.toml") && err.contains("start"),
        "{err}"
    );
    assert!(
        err.contains("{wrokers}") && err.contains("{workers}") && err.contains("{port}"),
        "{err}"
    );
    let err = parse(
        "name = \"x\"\ndescription = \"d\"\nstart = \"a\"\nrequire = {}\n",
        p,
        &layout(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("require") && err.contains("`requires`"), "{err}");
    let err = parse(
        "name = \"Bad Name\"\ndescription = \"d\"\nstart = \"a\"\n",
        p,
        &layout(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("lowercase"), "{err}");
    let err = parse("name = \"x\"\ndescription = \"d\"\n", p, &layout())
        .unwrap_err()
        .to_string();
    assert!(err.contains("missing field `start`"), "{err}");
}

#[test]
fn render_handles_braces() {
    let vars = BTreeMap::from([("a".to_string(), "1".to_string())]);
    assert_eq!(render("x{a}y{{z}}", &vars).unwrap(), "x1y{z}");
    assert!(render("{a", &vars).is_err());
    assert!(render("a}", &vars).is_err());
}

#[test]
fn availability_reports_missing_programs_and_root() {
    let text = "name = \"x\"\ndescription = \"d\"\nstart = \"a\"\n[requires]\nroot = true\nprograms = [\"no-such-program-lbbench\"]\npackages = [\"pkg\"]\n";
    let s = &parse(text, Path::new("x/strategy.toml"), &layout()).unwrap()[0];
    let no_netns = s.unavailable(Err("the kernel refused")).unwrap();
    assert!(
        no_netns.contains("private network namespace") && no_netns.contains("the kernel refused"),
        "{no_netns}"
    );
    let why = s.unavailable(Ok(())).unwrap();
    assert!(why.contains("no-such-program-lbbench") && why.contains("pkg"), "{why}");
}

#[test]
fn discovery_finds_every_directory_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    for (d, name) in [("b", "beta"), ("a", "alpha")] {
        std::fs::create_dir(dir.path().join(d)).unwrap();
        let m = format!("name = \"{name}\"\ndescription = \"d\"\nstart = \"true\"\n");
        std::fs::write(dir.path().join(d).join(MANIFEST), m).unwrap();
    }
    std::fs::create_dir(dir.path().join("not-a-strategy")).unwrap();
    let found = discover(dir.path(), &layout()).unwrap();
    assert_eq!(
        found.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["alpha", "beta"]
    );
    std::fs::create_dir(dir.path().join("c")).unwrap();
    std::fs::write(
        dir.path().join("c").join(MANIFEST),
        "name = \"alpha\"\ndescription = \"d\"\nstart = \"true\"\n",
    )
    .unwrap();
    let err = discover(dir.path(), &layout()).unwrap_err().to_string();
    assert!(err.contains("declared twice"), "{err}");
}

#[test]
fn every_documented_placeholder_is_filled() {
    let s = &parse(GOOD, Path::new("/repo/servers/demo/strategy.toml"), &layout()).unwrap()[0];
    let vars = s.vars(&slot(), &layout());
    let mut documented = PLACEHOLDERS.to_vec();
    documented.sort_unstable();
    assert_eq!(vars.keys().collect::<Vec<_>>(), documented);
}

#[test]
fn required_files_and_version_name_the_strategy_directory() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join(MANIFEST);
    let text = "name = \"x\"\ndescription = \"d\"\nstart = \"a\"\nversion = \"cat {dir}/VERSION\"\n[requires]\nfiles = [\"{dir}/node_modules/.bin/tool\"]\n";
    let s = &parse(text, &manifest, &layout()).unwrap()[0];
    let tool = dir.path().join("node_modules/.bin/tool");
    assert_eq!(
        s.requires.files,
        [crate::requires::RequiredFile::Path(tool.display().to_string())]
    );
    assert_eq!(
        s.version.as_deref(),
        Some(format!("cat {}/VERSION", dir.path().display()).as_str())
    );
    let why = s.unavailable(Ok(())).unwrap();
    assert!(
        why.contains(&tool.display().to_string()) && why.contains("make deps"),
        "{why}"
    );
    std::fs::create_dir_all(tool.parent().unwrap()).unwrap();
    std::fs::write(&tool, "").unwrap();
    assert_eq!(s.unavailable(Ok(())), None);
}

#[test]
fn required_files_may_not_name_a_cell() {
    let text = "name = \"x\"\ndescription = \"d\"\nstart = \"a\"\n[requires]\nfiles = [\"{run_dir}/f\"]\n";
    let err = error_of(text);
    assert!(
        err.contains("requires.files") && err.contains("{run_dir}") && err.contains("{dir}"),
        "{err}"
    );
    let err = error_of("name = \"x\"\ndescription = \"d\"\nstart = \"a\"\n[requires]\nfile = []\n");
    assert!(err.contains("`files`"), "{err}");
}

#[test]
fn a_required_file_may_say_why_it_is_needed() {
    let dir = tempfile::tempdir().unwrap();
    let text = "name = \"x\"\ndescription = \"d\"\nstart = \"a\"\n[requires]\n\
                files = [{ path = \"{dir}/feature\", reason = \"needs Linux 9.9 or later\" }]\n";
    let s = &parse(text, &dir.path().join(MANIFEST), &layout()).unwrap()[0];
    let feature = dir.path().join("feature");
    let why = s.unavailable(Ok(())).unwrap();
    assert!(
        why.starts_with("needs Linux 9.9 or later")
            && why.contains(&feature.display().to_string())
            && !why.contains("make deps"),
        "{why}"
    );
    std::fs::write(&feature, "").unwrap();
    assert_eq!(s.unavailable(Ok(())), None);
    let err = error_of(
        "name = \"x\"\ndescription = \"d\"\nstart = \"a\"\n[requires]\nfiles = [{ path = \"/f\", why = \"w\" }]\n",
    );
    assert!(err.contains("reason = "), "{err}");
}

#[test]
fn sysctls_are_net_keys_of_strategies_that_need_root() {
    let manifest = |sysctls: &str, root: bool| {
        format!(
            "name = \"x\"\ndescription = \"d\"\nstart = \"a\"\nsysctls = {{ {sysctls} }}\n[requires]\nroot = {root}\n"
        )
    };
    let p = Path::new("servers/x/strategy.toml");
    let s = &parse(&manifest("\"net.ipv4.tcp_migrate_req\" = \"1\"", true), p, &layout()).unwrap()[0];
    assert_eq!(
        s.launch(&slot(), &layout()).unwrap().sysctls,
        [("net.ipv4.tcp_migrate_req".to_string(), "1".to_string())]
    );
    let err = error_of(&manifest("\"kernel.pid_max\" = \"9\"", true));
    assert!(err.contains("only net.*") && err.contains("strategy.toml"), "{err}");
    let err = error_of(&manifest("\"net.ipv4.tcp_migrate_req\" = \"1\"", false));
    assert!(err.contains("root = true"), "{err}");
    let plain = &parse(GOOD, p, &layout()).unwrap()[0];
    assert!(plain.launch(&slot(), &layout()).unwrap().sysctls.is_empty());
}

#[test]
fn a_strategy_may_ask_for_a_longer_warm_up() {
    let path = Path::new("/repo/servers/demo/strategy.toml");
    assert_eq!(parse(GOOD, path, &layout()).unwrap()[0].warmup, None);
    let jit = format!("{GOOD}warmup = \"2500ms\"\n");
    let s = &parse(&jit, path, &layout()).unwrap()[0];
    assert_eq!(s.warmup, Some(std::time::Duration::from_millis(2500)));
    let err = error_of(&format!("{GOOD}warmup = \"soon\"\n"));
    assert!(err.contains("warmup"), "{err}");
}

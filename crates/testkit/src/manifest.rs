//! A strategy's start command as its manifest (`servers/<dir>/strategy.toml`) writes it, for
//! tests that start a variant the way lbbench would, without lbbench: the arguments after the
//! program, its placeholders filled for one test. The per-cell options [`crate::Running`] gives
//! itself (`--workers`, `--port`) and the CPU pinning are left out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The repository's `servers/` directory.
pub fn servers() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../servers")
}

/// The start arguments of `variant` of `servers/<dir>/strategy.toml` after its program, with
/// `{run_dir}` as `run_dir`, `{host}` 127.0.0.1 and `{stop_grace_ms}` 2000.
pub fn start_args(dir: &str, variant: &str, run_dir: &Path) -> Vec<String> {
    let path = servers().join(dir).join("strategy.toml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let manifest: toml::Table = text.parse().unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut vars: BTreeMap<String, String> = BTreeMap::new();
    let variants = manifest
        .get("variants")
        .and_then(|v| v.as_array())
        .cloned()
        .unwrap_or_default();
    let chosen = variants
        .iter()
        .find(|v| v.get("name").and_then(|n| n.as_str()) == Some(variant))
        .unwrap_or_else(|| panic!("no variant {variant} in {}", path.display()));
    for (k, v) in chosen.get("params").and_then(|p| p.as_table()).into_iter().flatten() {
        vars.insert(k.clone(), v.as_str().expect("a string param").to_string());
    }
    for (k, v) in [
        ("dir", servers().join(dir).display().to_string()),
        ("run_dir", run_dir.display().to_string()),
        ("host", "127.0.0.1".into()),
        ("stop_grace_ms", "2000".into()),
    ] {
        vars.insert(k.into(), v);
    }
    let start = manifest["start"].as_str().expect("a start command");
    let words = shell_words::split(start).expect("a start command split like a shell's");
    let mut args = Vec::new();
    let mut rest = words.iter().skip(1);
    while let Some(w) = rest.next() {
        if ["--workers", "--port", "--cpus"].contains(&w.as_str()) {
            rest.next();
            continue;
        }
        args.push(fill(w, &vars));
    }
    args
}

/// `word` with every `{name}` replaced (a placeholder left unfilled fails the test).
fn fill(word: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = word.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    assert!(!out.contains('{'), "{word}: a placeholder this helper does not fill");
    out
}

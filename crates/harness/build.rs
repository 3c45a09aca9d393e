//! Records the compiler's version, so results.json says what built the harness and strategies, and
//! the commit lbbench was built from, so `lbbench --version` tells binaries of different commits
//! apart (hosts of one sweep must agree on it).
fn main() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = std::process::Command::new(rustc)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    println!("cargo:rustc-env=LBBENCH_RUSTC={version}");
    println!("cargo:rerun-if-env-changed=RUSTC");
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = match git(&["rev-parse", "--short", "HEAD"]) {
        Some(c) if git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty()) => {
            format!("{c}-dirty")
        }
        Some(c) => c,
        None => "unknown commit".into(),
    };
    println!("cargo:rustc-env=LBBENCH_COMMIT={commit}");
    // A new commit, or a change staged or committed, builds a new version string.
    if let Some(dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        for f in ["HEAD", "index"] {
            println!("cargo:rerun-if-changed={dir}/{f}");
        }
    }
    // The branch's ref lives in the common directory (a worktree's own has only HEAD and index).
    if let (Some(common), Some(head)) = (
        git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]),
        git(&["symbolic-ref", "-q", "HEAD"]),
    ) {
        let path = std::path::Path::new(&common).join(head);
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
}

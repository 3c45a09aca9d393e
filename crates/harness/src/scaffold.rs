//! `lbbench new`: a new strategy directory copied from an existing one.

use crate::manifest::MANIFEST;
use anyhow::{Context, Result};
use std::path::Path;

/// Copies the strategy directory `from` to `to` under the name `name`: the manifest's name (and
/// its variants' names, which start with it) and, for a strategy with Rust code in `rust/`, the
/// Cargo package and binary, so the copy builds and runs beside the original.
pub fn copy_strategy(from: &Path, to: &Path, name: &str) -> Result<()> {
    anyhow::ensure!(!to.exists(), "{} already exists: choose another name", to.display());
    let text = std::fs::read_to_string(from.join(MANIFEST)).with_context(|| format!("reading {}", from.display()))?;
    let old = string_key(&text, &["name"]).with_context(|| format!("{} names no strategy", from.display()))?;
    let cargo = std::fs::read_to_string(from.join("rust/Cargo.toml")).ok();
    let package = match &cargo {
        Some(t) => Some(string_key(t, &["package", "name"]).context("rust/Cargo.toml has no package name")?),
        None => None,
    };
    copy_dir(from, to)?;
    let mut manifest = String::new();
    for line in text.lines() {
        let value = line
            .trim_start()
            .strip_prefix("name")
            .and_then(|r| r.trim_start().strip_prefix('='))
            .map(|v| v.trim().trim_matches('"'));
        let mut line = match value.and_then(|v| v.strip_prefix(old.as_str())) {
            Some(rest) if rest.is_empty() || rest.starts_with('-') => format!("name = \"{name}{rest}\""),
            _ => line.to_string(),
        };
        if let Some(p) = &package {
            line = replace_word(&line, &format!("-p {p}"), &format!("-p {name}"));
            line = replace_word(&line, &format!("{{bin}}/{p}"), &format!("{{bin}}/{name}"));
        }
        manifest += &line;
        manifest.push('\n');
    }
    std::fs::write(to.join(MANIFEST), manifest)?;
    if let (Some(p), Some(t)) = (&package, &cargo) {
        let renamed = t.replacen(&format!("name = \"{p}\""), &format!("name = \"{name}\""), 1);
        std::fs::write(to.join("rust/Cargo.toml"), renamed)?;
    }
    Ok(())
}

/// The string at `path` in a TOML document.
fn string_key(text: &str, path: &[&str]) -> Option<String> {
    let mut v: toml::Value = toml::from_str::<toml::Table>(text).ok()?.into();
    for k in path {
        v = v.get(k)?.clone();
    }
    v.as_str().map(String::from)
}

/// Replaces `from` where it is not followed by more of a name.
fn replace_word(line: &str, from: &str, to: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find(from) {
        let after = &rest[i + from.len()..];
        let whole = !after.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        out += &rest[..i];
        out += if whole { to } else { from };
        rest = after;
    }
    out + rest
}

/// What `make deps` installs into a strategy's directory: the copy gets its own install, as a
/// copied one (links into itself) would not work.
const INSTALLED: &str = "node_modules";

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_name() == INSTALLED {
            continue;
        }
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_renames_manifest_variants_and_package() {
        let dir = tempfile::tempdir().unwrap();
        let from = dir.path().join("proxy");
        std::fs::create_dir_all(from.join("rust/src")).unwrap();
        std::fs::write(
            from.join(MANIFEST),
            "name = \"proxy\"\nbuild = \"cargo build -p lbproxy\"\nstart = \"{bin}/lbproxy --x\"\n[[variants]]\nname = \"proxy-l7\"\n",
        )
        .unwrap();
        std::fs::write(from.join("rust/Cargo.toml"), "[package]\nname = \"lbproxy\"\n").unwrap();
        std::fs::write(from.join("rust/src/main.rs"), "fn main() {}").unwrap();
        std::fs::create_dir_all(from.join("node_modules/x")).unwrap();
        copy_strategy(&from, &dir.path().join("mine"), "mine").unwrap();
        let m = std::fs::read_to_string(dir.path().join("mine").join(MANIFEST)).unwrap();
        assert_eq!(
            m,
            "name = \"mine\"\nbuild = \"cargo build -p mine\"\nstart = \"{bin}/mine --x\"\n[[variants]]\nname = \"mine-l7\"\n"
        );
        let c = std::fs::read_to_string(dir.path().join("mine/rust/Cargo.toml")).unwrap();
        assert_eq!(c, "[package]\nname = \"mine\"\n");
        assert!(dir.path().join("mine/rust/src/main.rs").is_file());
        assert!(
            !dir.path().join("mine/node_modules").exists(),
            "`make deps` installs the copy's own"
        );
        assert!(
            copy_strategy(&from, &dir.path().join("mine"), "mine").is_err(),
            "no overwrite"
        );
        assert_eq!(replace_word("-p a -p ab", "-p a", "-p z"), "-p z -p ab");
    }
}

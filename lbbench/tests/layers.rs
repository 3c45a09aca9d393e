//! Layers that only point down. Every crate of the workspace may depend only on the crates its
//! layer allows (read from its Cargo.toml), and within every crate the modules import one another
//! without a circle (read from the `crate::`, `super::` and `self::` paths in its sources).
//!
//! ```text
//! lbbench (the binary)  →  harness  →  report, loadgen  →  model, stats  →  lower crates
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each crate's directory and the workspace crates it may depend on (normal and build
/// dependencies; dev-dependencies may also use the test helpers).
const LAYERS: &[(&str, &[&str])] = &[
    ("lbbench", &["harness", "report", "loadgen", "model", "stats", "lbproc"]),
    ("crates/harness", &["report", "loadgen", "model", "stats", "lbproc"]),
    ("crates/report", &["model", "stats"]),
    ("crates/loadgen", &["model", "lbproc"]),
    ("crates/model", &["lbproc"]),
    ("crates/stats", &[]),
    ("crates/proc", &[]),
    ("crates/http1", &[]),
    ("crates/hello", &["http1", "lbproc"]),
    ("crates/front", &["hello", "lbproc"]),
    ("crates/testkit", &["lbproc"]),
];

/// What a strategy's Rust code may use: the worker and the process plumbing, never lbbench.
const STRATEGY: &[&str] = &["hello", "http1", "lbproc", "front"];

/// What the fuzz targets may use: the instrument, the model and the worker's parser.
const FUZZ: &[&str] = &["loadgen", "model", "http1"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The package names of a manifest's path dependencies, by section.
fn path_dependencies(manifest: &Path) -> BTreeMap<String, Vec<String>> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let mut out = BTreeMap::new();
    for section in ["dependencies", "build-dependencies", "dev-dependencies"] {
        let deps = doc.get(section).and_then(|d| d.as_table()).cloned().unwrap_or_default();
        let names = deps
            .iter()
            .filter(|(_, v)| v.get("path").is_some())
            .map(|(k, v)| v.get("package").and_then(|p| p.as_str()).unwrap_or(k).to_string())
            .collect();
        out.insert(section.to_string(), names);
    }
    out
}

/// The workspace crates `manifest` uses that `allowed` does not name.
fn upward(manifest: &Path, allowed: &[&str]) -> Vec<String> {
    let deps = path_dependencies(manifest);
    let mut bad = Vec::new();
    for (section, names) in &deps {
        for name in names {
            let dev_helper = section == "dev-dependencies" && name == "testkit";
            if !allowed.contains(&name.as_str()) && !dev_helper {
                bad.push(format!("{} [{section}] {name}", manifest.display()));
            }
        }
    }
    bad
}

#[test]
fn every_crate_depends_only_on_the_layers_below_it() {
    let mut bad = Vec::new();
    for (dir, allowed) in LAYERS {
        bad.extend(upward(&root().join(dir).join("Cargo.toml"), allowed));
    }
    for entry in std::fs::read_dir(root().join("servers")).unwrap().flatten() {
        let manifest = entry.path().join("rust/Cargo.toml");
        if manifest.exists() {
            bad.extend(upward(&manifest, STRATEGY));
        }
    }
    bad.extend(upward(&root().join("fuzz/Cargo.toml"), FUZZ));
    assert!(bad.is_empty(), "dependencies on a layer above, or beside: {bad:#?}");
    // Every crate of the workspace has a layer.
    for entry in std::fs::read_dir(root().join("crates")).unwrap().flatten() {
        let dir = format!("crates/{}", entry.file_name().to_string_lossy());
        assert!(LAYERS.iter().any(|(d, _)| *d == dir), "{dir} has no layer in LAYERS");
    }
}

/// A crate's modules: module path ("" for the root, "a::b") → its source file.
fn modules(src: &Path) -> BTreeMap<String, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                parts.pop();
            }
            out.insert(parts.join("::"), path);
        }
    }
    out
}

/// The source of module `me` without comments, line by line with the module each line is in:
/// inside an inline `mod tests { .. }`, `super::` is `me` itself. A re-export (`pub use
/// child::X`) counts as an import: a module that re-exports its children must not also be what
/// they import (they import their siblings directly).
fn code_lines(me: &str, text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut inline: Vec<(String, i64)> = Vec::new();
    let mut depth = 0i64;
    for line in text.lines() {
        let t = line.trim_start();
        let opens = line.matches('{').count() as i64;
        let closes = line.matches('}').count() as i64;
        let here = inline.last().map_or(me.to_string(), |(m, _)| m.clone());
        if let Some(name) = t
            .strip_prefix("pub mod ")
            .or_else(|| t.strip_prefix("mod "))
            .and_then(|r| r.strip_suffix('{'))
        {
            let name = name.trim();
            let module = if here.is_empty() {
                name.to_string()
            } else {
                format!("{here}::{name}")
            };
            inline.push((module, depth));
        }
        depth += opens - closes;
        while inline.last().is_some_and(|(_, d)| depth <= *d) {
            inline.pop();
        }
        if !t.starts_with("//") {
            out.push((here, line.to_string()));
        }
    }
    out
}

/// The modules the source of module `me` refers to, resolved to the deepest module of `known`
/// each path names: `crate::`, `super::` and `self::` paths, and bare paths into a child
/// (`child::f()`, `use child::X`).
fn references(me: &str, text: &str, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let parent = |m: &str| m.rsplit_once("::").map_or(String::new(), |(p, _)| p.to_string());
    let join = |m: &str, seg: &str| {
        if m.is_empty() {
            seg.to_string()
        } else {
            format!("{m}::{seg}")
        }
    };
    let mut out = BTreeSet::new();
    for (here, code) in code_lines(me, text) {
        let starts = code
            .match_indices("crate::")
            .chain(code.match_indices("super::"))
            .chain(code.match_indices("self::"));
        for (i, _) in starts {
            if i > 0 && code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest = &code[i..];
            let (start, tail) = if let Some(t) = rest.strip_prefix("crate::") {
                (String::new(), t)
            } else if let Some(t) = rest.strip_prefix("self::") {
                (here.clone(), t)
            } else {
                let mut base = parent(&here);
                let mut t = &rest[7..];
                while let Some(more) = t.strip_prefix("super::") {
                    base = parent(&base);
                    t = more;
                }
                (base, t)
            };
            // The path's segments, and in a `{...}` group each alternative's first segment.
            let head: String = tail
                .chars()
                .take_while(|c| c.is_alphanumeric() || matches!(c, '_' | ':' | '{' | ',' | ' '))
                .collect();
            let (path, group) = match head.split_once('{') {
                Some((p, g)) => (p.trim_end_matches("::").to_string(), Some(g.to_string())),
                None => (head.trim_end_matches(':').to_string(), None),
            };
            let mut module = start;
            for seg in path.split("::").map(str::trim).filter(|s| !s.is_empty()) {
                match join(&module, seg) {
                    next if known.contains_key(&next) => module = next,
                    _ => break,
                }
            }
            // `use m::{a, b}`: each alternative that is a module, and `m` itself for any that is not.
            let mut targets = Vec::new();
            for alt in group.iter().flat_map(|g| g.split(',')).filter(|a| !a.trim().is_empty()) {
                let seg = alt
                    .trim()
                    .split("::")
                    .next()
                    .unwrap_or("")
                    .split(' ')
                    .next()
                    .unwrap_or("");
                let next = join(&module, seg);
                targets.push(if known.contains_key(&next) {
                    next
                } else {
                    module.clone()
                });
            }
            if targets.is_empty() {
                targets.push(module.clone());
            }
            out.extend(targets.into_iter().filter(|t| t != me && t != &here));
        }
        // Bare paths into a child module of the file's module.
        let prefix = if me.is_empty() {
            String::new()
        } else {
            format!("{me}::")
        };
        let children = known
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|c| !c.is_empty() && !c.contains("::"));
        for child in children {
            let pattern = format!("{child}::");
            let bare = code
                .match_indices(&pattern)
                .any(|(i, _)| i == 0 || !code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':'));
            if bare {
                out.insert(format!("{prefix}{child}"));
            }
        }
    }
    out
}

/// Every circle among `edges`: the strongly connected components of more than one module
/// (Tarjan's algorithm), each sorted.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, m: &'a str) {
            let n = self.index.len();
            self.index.insert(m, n);
            self.low.insert(m, n);
            self.stack.push(m);
            for next in self.edges.get(m).into_iter().flatten() {
                let next = next.as_str();
                if !self.edges.contains_key(next) {
                    continue;
                }
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let l = self.low[m].min(self.low[next]);
                    self.low.insert(m, l);
                } else if self.stack.contains(&next) {
                    let l = self.low[m].min(self.index[next]);
                    self.low.insert(m, l);
                }
            }
            if self.low[m] == self.index[m] {
                let mut component = Vec::new();
                while let Some(top) = self.stack.pop() {
                    component.push(top.to_string());
                    if top == m {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort();
                    self.found.push(component);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for m in edges.keys() {
        if !walk.index.contains_key(m.as_str()) {
            walk.visit(m);
        }
    }
    walk.found
}

/// A module's name for people ("crate" for the root).
fn show(m: &str) -> &str {
    if m.is_empty() {
        "crate"
    } else {
        m
    }
}

/// The module graph of the crate whose sources are in `src`.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let known = modules(src);
    known
        .iter()
        .map(|(m, file)| {
            (
                m.clone(),
                references(m, &std::fs::read_to_string(file).unwrap(), &known),
            )
        })
        .collect()
}

#[test]
fn no_crate_has_a_module_circle() {
    let mut found = Vec::new();
    let mut crates: Vec<PathBuf> = LAYERS.iter().map(|(d, _)| root().join(d).join("src")).collect();
    for entry in std::fs::read_dir(root().join("servers")).unwrap().flatten() {
        let src = entry.path().join("rust/src");
        if src.exists() {
            crates.push(src);
        }
    }
    for src in crates {
        let edges = graph(&src);
        for c in circles(&edges) {
            let name = src.strip_prefix(root()).unwrap_or(&src).display().to_string();
            // The imports that tie them, so the circle can be cut where it is cheapest.
            let ties: Vec<String> = c
                .iter()
                .flat_map(|m| {
                    edges[m]
                        .iter()
                        .filter(|n| c.contains(n))
                        .map(move |n| format!("{} → {}", show(m), show(n)))
                })
                .collect();
            found.push(format!("{name}: {}", ties.join("; ")));
        }
    }
    assert!(
        found.is_empty(),
        "module circles (each a set of modules that import one another): {found:#?}"
    );
}

#[test]
fn the_checks_catch_what_they_are_for() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("a")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod a;\npub mod b;\n").unwrap();
    std::fs::write(
        src.join("a/mod.rs"),
        "pub mod inner;\nuse crate::b::Thing;\npub use inner::X;\nfn g() { inner::f() }\n",
    )
    .unwrap();
    std::fs::write(src.join("a/inner.rs"), "// crate::b is only a comment here\n").unwrap();
    std::fs::write(src.join("b.rs"), "pub struct Thing;\n").unwrap();
    assert!(circles(&graph(&src)).is_empty(), "a → b is no circle");
    std::fs::write(src.join("b.rs"), "use super::a::inner::{self, X};\npub struct Thing;\n").unwrap();
    std::fs::write(src.join("a/inner.rs"), "fn f() { let _ = crate::b::Thing; }\n").unwrap();
    assert_eq!(circles(&graph(&src)), [["a::inner", "b"]], "b → a::inner → b");
    // A parent that uses its child, and a child that uses what the parent defines.
    std::fs::write(src.join("b.rs"), "pub struct Thing;\n").unwrap();
    std::fs::write(src.join("a/inner.rs"), "use super::Helper;\npub struct X;\n").unwrap();
    assert_eq!(circles(&graph(&src)), [["a", "a::inner"]], "a → a::inner → a");
    let manifest = dir.path().join("Cargo.toml");
    std::fs::write(
        &manifest,
        "[package]\nname = \"m\"\n[dependencies]\nharness = { path = \"../harness\" }\nserde = \"1\"\n",
    )
    .unwrap();
    assert_eq!(upward(&manifest, &["lbproc"]).len(), 1, "model → harness is upward");
    assert!(upward(&manifest, &["harness"]).is_empty());
}

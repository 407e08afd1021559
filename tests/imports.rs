//! Imports run one way: no runtime module reads the scenario schema, and the top-level modules
//! of `src/` import each other without cycles (file schema → build stage → runtime), checked
//! in Rust so that `cargo test` needs no other tool.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// Modules that run training and must not import `crate::scenario`.
const RUNTIME: &[&str] = &[
    "sim",
    "net",
    "inverse",
    "train",
    "episode",
    "scenes",
    "objective",
];

/// Source text without comments and without a trailing `#[cfg(test)] mod tests { … }`.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a file's code names through `crate::x` or `use crate::{x, …}`.
fn targets(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name = ident(item.trim());
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out
}

fn walk(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
}

/// Edges between top-level modules, and the runtime files that import `scenario`.
fn edges(src: &Path) -> (BTreeMap<String, BTreeSet<String>>, Vec<String>) {
    let mut files = Vec::new();
    walk(src, &mut files);
    let modules: BTreeSet<String> = fs::read_dir(src)
        .expect("read src")
        .filter_map(|e| {
            let p = e.ok()?.path();
            let stem = p.file_stem()?.to_string_lossy().to_string();
            (p.is_dir() || p.extension().is_some_and(|e| e == "rs")).then_some(stem)
        })
        .collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut upward = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).expect("inside src");
        let top = rel
            .components()
            .next()
            .map(|c| {
                c.as_os_str()
                    .to_string_lossy()
                    .trim_end_matches(".rs")
                    .to_string()
            })
            .expect("component");
        if ["lib", "main", "bin"].contains(&top.as_str()) {
            continue;
        }
        let text = fs::read_to_string(&file).expect("read file");
        for target in targets(&code(&text)) {
            if target != top && modules.contains(&target) {
                if RUNTIME.contains(&top.as_str()) && target == "scenario" {
                    upward.push(rel.display().to_string());
                }
                edges.entry(top.clone()).or_default().insert(target);
            }
        }
    }
    (edges, upward)
}

/// A cycle through `start`, if the graph has one.
fn cycle_through(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((node, path)) = stack.pop() {
        for next in edges.get(&node).into_iter().flatten() {
            if next == start {
                return Some(path.clone());
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn runtime_modules_do_not_import_the_scenario() {
    let (_, upward) = edges(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    assert!(
        upward.is_empty(),
        "runtime files importing crate::scenario: {upward:?}"
    );
}

#[test]
fn top_level_modules_import_each_other_without_cycles() {
    let (edges, _) = edges(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
    for module in edges.keys() {
        assert_eq!(cycle_through(&edges, module), None, "import cycle");
    }
}

#[test]
fn the_check_sees_an_upward_import_and_a_cycle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path();
    fs::create_dir(src.join("train")).expect("dir");
    fs::write(
        src.join("train").join("mod.rs"),
        "use crate::scenario::X;\n",
    )
    .expect("write");
    fs::write(src.join("scenario.rs"), "use crate::{train, sim};\n").expect("write");
    fs::write(src.join("sim.rs"), "// crate::scenario in a comment\n").expect("write");
    let (edges, upward) = edges(src);
    assert_eq!(upward, vec!["train/mod.rs".to_string()]);
    assert!(cycle_through(&edges, "train").is_some());
    assert!(cycle_through(&edges, "sim").is_none());
}

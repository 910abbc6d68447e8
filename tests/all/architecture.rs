//! The library's layers run downhill: no module of `src/` imports from a module that imports it,
//! directly or through others. Read from the source, as `cargo modules` would draw it: every
//! `crate::…` path outside test code and comments is an edge from the file's top-level module to the module
//! the path names (an item re-exported at the root counts for the module that defines it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Graph = BTreeMap<String, BTreeSet<String>>;

/// The top-level module a file of `src/` belongs to (`jit/link.rs` → `jit`); `None` for lib.rs.
fn top_module(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    match first.strip_suffix(".rs") {
        Some("lib") => None,
        Some(name) => Some(name.to_owned()),
        None => Some(first.to_owned()),
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code outside `#[cfg(test)]` modules (they sit at the end of a file here).
fn non_test(text: &str) -> &str {
    let cut = ["#[cfg(test)]", "#[cfg(all(test"]
        .iter()
        .filter_map(|marker| text.find(&format!("\n{marker}")))
        .min();
    &text[..cut.unwrap_or(text.len())]
}

/// The names the root re-exports, and the module each comes from (`Jit` → `jit`).
pub(crate) fn root_exports(lib: &str) -> BTreeMap<String, String> {
    let mut exports = BTreeMap::new();
    for statement in lib.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = rest.split_once("::") else {
            continue;
        };
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            let name = name.trim();
            if !name.is_empty() {
                exports.insert(name.to_owned(), module.to_owned());
            }
        }
    }
    exports
}

/// The modules that `code` names through `crate::`.
fn imports(
    code: &str,
    modules: &BTreeSet<String>,
    exports: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            group[..end].split(',').collect()
        } else {
            vec![rest]
        };
        for name in names {
            let ident: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if modules.contains(&ident) {
                found.insert(ident);
            } else if let Some(module) = exports.get(&ident) {
                found.insert(module.clone());
            }
        }
    }
    found
}

fn module_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let exports = root_exports(&lib);
    let modules: BTreeSet<String> = files
        .iter()
        .filter_map(|f| top_module(f.strip_prefix(&src).ok()?))
        .collect();
    let mut graph = Graph::new();
    for file in &files {
        let Some(module) = top_module(file.strip_prefix(&src).expect("under src")) else {
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read");
        // Doc links (`[crate::Jit]`) and comments are not imports.
        let code: String = non_test(&text)
            .lines()
            .map(|line| line.split("//").next().unwrap_or(""))
            .collect::<Vec<_>>()
            .join("\n");
        let edges = graph.entry(module.clone()).or_default();
        edges.extend(imports(&code, &modules, &exports));
        edges.remove(&module);
    }
    graph
}

/// A cycle through `start`, if there is one (depth-first).
fn cycle_from(graph: &Graph, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_owned());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_module_imports_from_a_module_that_imports_it() {
    let graph = module_graph();
    // The pipeline's spine must be seen, or the reading above has gone wrong.
    for (from, to) in [
        ("jit", "memory"),
        ("kernel", "jit"),
        ("stub", "targets"),
        ("jit", "expr"),
    ] {
        assert!(
            graph[from].contains(to),
            "{from} → {to} not found in {graph:#?}"
        );
    }
    let cycles: Vec<Vec<String>> = graph.keys().filter_map(|m| cycle_from(&graph, m)).collect();
    assert!(cycles.is_empty(), "cycles: {cycles:?}\ngraph: {graph:#?}");
}

#[test]
fn the_cycle_finder_finds_a_cycle() {
    let mut graph = Graph::new();
    graph.entry("a".into()).or_default().insert("b".into());
    graph.entry("b".into()).or_default().insert("c".into());
    graph.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycle_from(&graph, "a").map(|c| c.len()), Some(4));
    graph.get_mut("c").expect("c").clear();
    assert_eq!(cycle_from(&graph, "a"), None);
}

//! The README and the pages of `docs/` name only what exists: every file or folder they name in
//! code (`src/jit/link.rs`), every link and the heading it points to, every item of the API
//! (`fnjit::limits::MAX_VARS`, `Jit::compile_unchecked`, `Error::Signature`). Every code block is
//! Rust, which runs as a doctest (lib.rs includes each page), Python, which
//! python/tests/test_docs.py runs as doctests, or is marked as output. The README
//! stays short: under 300 lines.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// README.md and every page of docs/, with their text.
fn pages() -> Vec<(PathBuf, String)> {
    let mut paths = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths.into_iter().map(|p| (p.clone(), read(&p))).collect()
}

/// The text outside code blocks, and the blocks' opening lines.
fn prose_and_fences(text: &str) -> (String, Vec<String>) {
    let (mut prose, mut fences, mut inside) = (String::new(), Vec::new(), false);
    for line in text.lines() {
        if let Some(info) = line.trim_start().strip_prefix("```") {
            if !inside {
                fences.push(info.trim().to_owned());
            }
            inside = !inside;
        } else if !inside {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    (prose, fences)
}

/// Every `code span` of the prose.
fn code_spans(prose: &str) -> Vec<String> {
    let mut spans = Vec::new();
    let mut rest = prose;
    while let Some(start) = rest.find('`') {
        let after = &rest[start..];
        let ticks = after.len() - after.trim_start_matches('`').len();
        let body = &after[ticks..];
        let Some(end) = body.find(&"`".repeat(ticks)) else {
            break;
        };
        spans.push(body[..end].trim().to_owned());
        rest = &body[end + ticks..];
    }
    spans
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let (prose, _) = prose_and_fences(text);
    prose
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .map(|h| anchor(h.trim_start_matches('#')))
        .collect()
}

/// The names `src/` makes public (items, modules, re-exports), per top-level module ("" is the
/// root), and every `fn` and enum variant anywhere (for `Type::member`).
struct Api {
    modules: BTreeSet<String>,
    root: BTreeSet<String>,
    items: Vec<(String, BTreeSet<String>)>,
    members: BTreeSet<String>,
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

fn public_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for statement in text.split(['\n', ';']) {
        let s = statement.trim();
        let Some(rest) = s.strip_prefix("pub ") else {
            continue;
        };
        let rest = rest.strip_prefix("unsafe ").unwrap_or(rest);
        // `pub const fn f` names `f`; `pub const X` names `X`.
        let rest = rest
            .strip_prefix("const ")
            .filter(|r| r.starts_with("fn "))
            .unwrap_or(rest);
        if let Some(used) = rest.strip_prefix("use ") {
            // The last segment of each path: `pub use cache::CacheStats`, `{A, B}`.
            let list = used.rsplit("::").next().unwrap_or(used);
            names.extend(words(list).filter(|w| *w != "self").map(str::to_owned));
            continue;
        }
        let mut it = words(rest);
        if let (
            Some("fn" | "struct" | "enum" | "trait" | "type" | "const" | "static" | "mod"),
            Some(name),
        ) = (it.next(), it.next())
        {
            names.insert(name.to_owned());
        }
    }
    names
}

fn api() -> Api {
    let src = root().join("src");
    let lib = read(&src.join("lib.rs"));
    let modules: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_owned())
        .collect();
    let root_names = crate::architecture::root_exports(&lib)
        .into_keys()
        .collect();
    let mut items = Vec::new();
    let mut members = BTreeSet::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let text = read(&path);
            for line in text.lines() {
                let t = line.trim();
                // `fn name`, `const NAME`, and enum variants: `Name {`, `Name(`, `Name,` on their
                // own line.
                for keyword in ["fn ", "const "] {
                    if let Some(at) = t.find(keyword) {
                        members.extend(words(&t[at + keyword.len()..]).next().map(str::to_owned));
                    }
                }
                if t.starts_with(|c: char| c.is_ascii_uppercase()) {
                    members.extend(words(t).next().map(str::to_owned));
                }
            }
            let module = path
                .strip_prefix(&src)
                .ok()
                .and_then(|p| p.components().next())
                .and_then(|c| c.as_os_str().to_str())
                .map(|m| m.trim_end_matches(".rs").to_owned())
                .unwrap_or_default();
            items.push((module, public_names(&text)));
        }
    }
    Api {
        modules,
        root: root_names,
        items,
        members,
    }
}

impl Api {
    fn in_module(&self, module: &str, name: &str) -> bool {
        self.items
            .iter()
            .any(|(m, names)| m == module && names.contains(name))
    }

    /// Why `path` (`fnjit::a::B`, `Jit::compile`) names nothing, if it does not.
    fn missing(&self, path: &str) -> Option<String> {
        // `Evaluator::<T>::new(…)` names `Evaluator::new`.
        let path = match (path.find("::<"), path.find(">::")) {
            (Some(open), Some(close)) if open < close => {
                format!("{}{}", &path[..open], &path[close + 1..])
            }
            _ => path.to_owned(),
        };
        let path = path
            .split(['(', '<', ' ', '!', '{', '['])
            .next()
            .unwrap_or(&path);
        let segments: Vec<&str> = path.split("::").collect();
        match segments.as_slice() {
            ["fnjit", name] => (!self.root.contains(*name) && !self.modules.contains(*name))
                .then(|| format!("fnjit::{name} is neither re-exported at the root nor a module")),
            ["fnjit", module, name, ..] if self.modules.contains(*module) => (!self
                .in_module(module, name))
            .then(|| format!("fnjit::{module} has no public {name}")),
            ["fnjit", ty, member, ..] if self.root.contains(*ty) => {
                (!self.members.contains(*member)).then(|| format!("{ty} has no {member}"))
            }
            ["fnjit", other, _, ..] if !self.root.contains(*other) => Some(format!(
                "fnjit::{other} is neither re-exported at the root nor a module"
            )),
            [ty, member] if self.root.contains(*ty) && !self.members.contains(*member) => {
                Some(format!("{ty} has no {member}"))
            }
            _ => None,
        }
    }
}

/// Whether a code span reads as a path of this repository.
fn looks_like_a_file(span: &str) -> bool {
    const TOP: [&str; 8] = [
        "src/",
        "tests/",
        "docs/",
        "cli/",
        "examples/",
        "benches/",
        "fuzz/",
        ".ci/",
    ];
    !span.contains([' ', '*', '<', '{'])
        && (TOP.iter().any(|t| span.starts_with(t))
            || ["Cargo.toml", "Cargo.lock", "README.md"].contains(&span))
}

#[test]
fn every_file_named_exists() {
    let mut missing = Vec::new();
    for (page, text) in pages() {
        let (prose, _) = prose_and_fences(&text);
        for span in code_spans(&prose) {
            let file = span.split(':').next().unwrap_or(&span);
            if looks_like_a_file(file) && !root().join(file).exists() {
                missing.push(format!("{}: `{span}`", page.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files named that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_link_reaches_its_file_and_heading() {
    let mut broken = Vec::new();
    for (page, text) in pages() {
        let (prose, _) = prose_and_fences(&text);
        for (at, _) in prose.match_indices("](") {
            let target = &prose[at + 2..];
            let target = &target[..target.find(')').unwrap_or(target.len())];
            if target.starts_with("http") || target.starts_with("mailto:") {
                continue;
            }
            let (file, heading) = target.split_once('#').unwrap_or((target, ""));
            let dir = page.parent().expect("a folder");
            let linked = if file.is_empty() {
                page.clone()
            } else {
                dir.join(file)
            };
            if !linked.exists() {
                broken.push(format!("{}: ({target}): no such file", page.display()));
            } else if !heading.is_empty() && !anchors(&read(&linked)).contains(heading) {
                broken.push(format!("{}: ({target}): no such heading", page.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_item_named_exists() {
    let api = api();
    // The reading of the source must find what certainly exists, and refuse what does not.
    for real in [
        "fnjit::Jit",
        "fnjit::check",
        "fnjit::limits::MAX_VARS",
        "Jit::compile_unchecked",
        "Error::Signature",
        "Evaluator::<T>::new(src, vars)",
    ] {
        assert_eq!(api.missing(real), None, "{real}: modules {:?}", api.modules);
    }
    for gone in [
        "fnjit::MAX_VARS",
        "fnjit::limits::GIST_BYTES",
        "Jit::compile_faster",
        "fnjit::bench::run",
    ] {
        assert!(api.missing(gone).is_some(), "{gone}");
    }
    let mut missing = Vec::new();
    for (page, text) in pages() {
        let (prose, _) = prose_and_fences(&text);
        for span in code_spans(&prose) {
            if let Some(why) = api.missing(&span) {
                missing.push(format!("{}: `{span}`: {why}", page.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "items named that do not exist:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_code_block_runs_or_is_marked_as_output() {
    let lib = read(&root().join("src/lib.rs"));
    let mut wrong = Vec::new();
    for (page, text) in pages() {
        let (_, fences) = prose_and_fences(&text);
        for info in fences {
            let ok = matches!(
                info.as_str(),
                // Python runs as doctests there: python/tests/test_docs.py.
                "rust" | "rust,compile_fail" | "text" | "sh" | "toml" | "python"
            );
            if !ok {
                wrong.push(format!("{}: ```{info}", page.display()));
            }
        }
        let name = page.strip_prefix(root()).expect("in the repository");
        let included = format!("include_str!(\"../{}\")", name.display());
        if text.contains("```rust") && !lib.contains(&included) {
            wrong.push(format!(
                "{}: lib.rs does not run it as a doctest ({included})",
                page.display()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "code blocks that neither run nor say they are output:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_readme_reads_in_five_minutes() {
    let lines = read(&root().join("README.md")).lines().count();
    assert!(
        lines < 300,
        "README.md has {lines} lines: move detail to docs/"
    );
}

//! The "never" rules of docs/ARCHITECTURE.md as a check that can fail: reads `src/`, collects each
//! file's references to other parts of the crate (`crate::…`, `super::…`, and `aiart::…` in the
//! binary's files) outside unit-test modules, and fails when
//! - a file under `src/run/` (the run protocol) names a launcher, a trainer or the dashboard,
//! - a file under `src/nn/` (the networks) names a trainer or the run protocol,
//! - a trainer (`src/train/`) or a launcher (`src/launch/`) names the dashboard,
//! - the results page (`src/report/`) names a trainer, a network, a launcher, the dashboard or a
//!   command,
//! - inference (`src/infer/`) names no trainer, launcher, screen, command, bench or style transfer,
//! - two top-level modules of `src/` depend on each other, directly or through others (a loop),
//! - two files import each other,
//! - a file of the dashboard (`src/tui/`) other than its reader thread, image worker, file watcher
//!   and event loop reads a file: its views and its `update` never wait for a disk.
//! - a kind is spelled as text (`"cyclegan"`) outside `src/preset/kind.rs`, where `Kind` spells it
//!   (and the dashboard spells no run state: it names `run::list::UserState`).
//! - the CLI (`src/cli/`, `src/main.rs`) names a part of `train` other than its one start and
//!   resume (`train::start`, `train::resume`): no trainer module (`train::gan`, `train::fast`,
//!   `train::nst`), no loop; and the one batch loop (`train/batch.rs`) or what every loop shares
//!   (`train/live.rs`) names a trainer module (issue 31's trainer seam).
//!
//! When this test fails, move the code, not the rule (STYLE.md).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (folder under src/, module paths it must never name)
const NEVER: &[(&str, &[&str])] = &[
    ("run", &["launch", "slurm", "sweep", "train", "tui", "cli"]),
    ("nn", &["train", "run", "launch", "tui", "cli"]),
    ("nst", &["train", "run", "launch", "tui", "cli"]),
    ("data", &["train", "run", "launch", "tui", "cli", "nst"]),
    ("preset", &["train", "run", "launch", "tui", "cli"]),
    ("train", &["tui", "launch", "cli"]),
    ("infer", &["train", "tui", "launch", "cli", "bench", "nst"]),
    ("launch", &["tui", "cli"]),
    ("report", &["train", "launch", "tui", "cli", "nn", "nst"]),
];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The text with comments, string and char literals blanked (so paths in docs and messages do not
/// count).
fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_char(prev(&b, i)) {
            // raw string r"…" / r#"…"#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            'raw: while j < b.len() {
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break 'raw;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // a char literal ('a', '\n', '\u{..}') or a lifetime ('a)
            let close = if next == Some('\\') {
                (i + 2..b.len().min(i + 12)).find(|&j| b[j] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(j) => {
                    out.push_str("' '");
                    i = j + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev(b: &[char], i: usize) -> char {
    if i == 0 {
        ' '
    } else {
        b[i - 1]
    }
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Removes `#[cfg(test)]` items with a body (`mod tests { … }`, test-only functions).
fn without_test_items(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        // the item ends at `;` before any `{`, or at the `}` closing its first `{`
        let semi = after.find(';');
        let brace = after.find('{');
        let end = match (semi, brace) {
            (Some(s), Some(b)) if s < b => s + 1,
            (_, Some(b)) => {
                let mut depth = 0;
                let mut end = after.len();
                for (k, ch) in after[b..].char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = b + k + 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                end
            }
            (Some(s), None) => s + 1,
            (None, None) => after.len(),
        };
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Files that are unit-test modules (declared `#[cfg(test)] mod NAME;`), with the files of their
/// own child modules (`NAME/mod.rs` with `NAME/screen.rs`).
fn test_module_files(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let roots = test_module_roots(files);
    files
        .iter()
        .filter(|f| {
            roots.contains(*f)
                || roots
                    .iter()
                    .any(|r| r.ends_with("mod.rs") && f.starts_with(r.parent().unwrap()))
        })
        .cloned()
        .collect()
}

/// The files `#[cfg(test)] mod NAME;` declarations name.
fn test_module_roots(files: &[PathBuf]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for f in files {
        let text = code_only(&std::fs::read_to_string(f).unwrap());
        let dir = module_dir(f);
        let mut rest = text.as_str();
        while let Some(at) = rest.find("#[cfg(test)]") {
            let after = rest[at + "#[cfg(test)]".len()..].trim_start();
            let after = after.strip_prefix("pub(crate) ").unwrap_or(after);
            let after = after.strip_prefix("pub ").unwrap_or(after);
            if let Some(decl) = after.strip_prefix("mod ") {
                let name: String = decl.chars().take_while(|&c| ident_char(c)).collect();
                let tail = decl[name.len()..].trim_start();
                if tail.starts_with(';') {
                    out.insert(dir.join(format!("{name}.rs")));
                    out.insert(dir.join(&name).join("mod.rs"));
                }
            }
            rest = &rest[at + 1..];
        }
    }
    out
}

/// The folder a file's child modules live in (`a/mod.rs`, `lib.rs` → its folder; `a/b.rs` → `a/b/`).
fn module_dir(f: &Path) -> PathBuf {
    let name = f.file_name().unwrap().to_string_lossy();
    if matches!(name.as_ref(), "mod.rs" | "lib.rs" | "main.rs") {
        f.parent().unwrap().to_path_buf()
    } else {
        f.with_extension("")
    }
}

/// The module path of a file: `src/nn/kernels/conv.rs` → ["nn", "kernels", "conv"].
fn module_path(f: &Path) -> Vec<String> {
    let rel = f.strip_prefix(src()).unwrap();
    if rel == Path::new("main.rs") {
        return vec!["main".into()];
    }
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Every path a piece of code names through `crate::` (or `aiart::` in the binary) and `super::`,
/// made absolute (["nn", "kernels", "conv", "im2col"]). `use a::{b, c::{d}}` groups are expanded.
fn referenced_paths(code: &str, me: &[String], in_binary: bool) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = vec![];
    let mut i = 0;
    while i < chars.len() {
        if !ident_char(chars[i]) || (i > 0 && (ident_char(chars[i - 1]) || chars[i - 1] == ':')) {
            i += 1;
            continue;
        }
        let word: String = chars[i..].iter().take_while(|&&c| ident_char(c)).collect();
        let after = i + word.len();
        let is_sep = chars.get(after) == Some(&':') && chars.get(after + 1) == Some(&':');
        let mut j = after + 2;
        let base: Option<Vec<String>> = match word.as_str() {
            "crate" if is_sep => Some(vec![]),
            "aiart" if is_sep && in_binary => Some(vec![]),
            "super" if is_sep => {
                // a file's `super` is its parent module; chained supers go further up
                let mut base = me.to_vec();
                base.pop();
                while chars[j..].starts_with(&['s', 'u', 'p', 'e', 'r', ':', ':']) {
                    base.pop();
                    j += 7;
                }
                Some(base)
            }
            _ => None,
        };
        match base {
            Some(base) => i = parse_tree(&chars, j, base, &mut out).max(i + 1),
            None => i = after,
        }
    }
    out
}

/// Parses `a::b::{c, d::e}` starting at `j`, pushing each full path; returns where it ended.
fn parse_tree(
    chars: &[char],
    mut j: usize,
    mut base: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    loop {
        while chars.get(j).is_some_and(|c| c.is_whitespace()) {
            j += 1;
        }
        if chars.get(j) == Some(&'{') {
            j += 1;
            loop {
                j = parse_tree(chars, j, base.clone(), out);
                while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                    j += 1;
                }
                match chars.get(j) {
                    Some(',') => j += 1,
                    Some('}') => return j + 1,
                    _ => return j,
                }
                while chars.get(j).is_some_and(|c| c.is_whitespace()) {
                    j += 1;
                }
                if chars.get(j) == Some(&'}') {
                    return j + 1;
                }
            }
        }
        let word: String = chars[j..].iter().take_while(|&&c| ident_char(c)).collect();
        if word.is_empty() {
            if !base.is_empty() {
                out.push(base);
            }
            return j;
        }
        j += word.len();
        if word != "self" {
            base.push(word);
        }
        if chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':') {
            j += 2;
        } else {
            if !base.is_empty() {
                out.push(base);
            }
            return j;
        }
    }
}

/// The file a module path lands in: its longest prefix that is a file of `files`.
fn file_of(path: &[String], by_module: &BTreeMap<Vec<String>, PathBuf>) -> Option<PathBuf> {
    (1..=path.len())
        .rev()
        .find_map(|n| by_module.get(&path[..n]).cloned())
}

struct Graph {
    /// file -> files it names
    files: BTreeMap<PathBuf, BTreeSet<PathBuf>>,
    /// file -> the absolute module paths it names
    names: BTreeMap<PathBuf, Vec<Vec<String>>>,
}

fn graph() -> Graph {
    let mut all = vec![];
    rust_files(&src(), &mut all);
    all.sort();
    let tests = test_module_files(&all);
    let files: Vec<PathBuf> = all.into_iter().filter(|f| !tests.contains(f)).collect();
    let by_module: BTreeMap<Vec<String>, PathBuf> =
        files.iter().map(|f| (module_path(f), f.clone())).collect();
    let mut g = Graph {
        files: BTreeMap::new(),
        names: BTreeMap::new(),
    };
    for f in &files {
        let me = module_path(f);
        let in_binary = me.first().is_some_and(|m| m == "cli") || f.ends_with("src/main.rs");
        let code = without_test_items(&code_only(&std::fs::read_to_string(f).unwrap()));
        let paths = referenced_paths(&code, &me, in_binary);
        let targets: BTreeSet<PathBuf> = paths
            .iter()
            .filter_map(|p| file_of(p, &by_module))
            .filter(|t| t != f)
            .collect();
        g.files.insert(f.clone(), targets);
        g.names.insert(f.clone(), paths);
    }
    g
}

fn rel(f: &Path) -> String {
    f.strip_prefix(src().parent().unwrap())
        .unwrap()
        .display()
        .to_string()
}

/// A file's top-level module: `src/nn/x.rs` → `nn`, `src/bench.rs` → `bench`, `src/lib.rs` → `lib`.
fn top(f: &Path) -> String {
    module_path(f)
        .first()
        .cloned()
        .unwrap_or_else(|| "lib".into())
}

/// The kinds as files spell them; code names `preset::Kind` instead.
const KIND_TEXTS: [&str; 4] = [
    "\"nst\"",
    "\"pix2pix\"",
    "\"cyclegan\"",
    "\"fast_neural_style\"",
];

/// The run states a user sees, as files spell them; the dashboard names `run::list::UserState`.
const STATE_TEXTS: [&str; 11] = [
    "\"running\"",
    "\"paused\"",
    "\"finished\"",
    "\"failed\"",
    "\"stopped\"",
    "\"queued\"",
    "\"requeued\"",
    "\"timeout\"",
    "\"crashed\"",
    "\"preempted\"",
    "\"cancelled\"",
];

/// Where a kind may be text: `Kind` itself.
fn may_spell_kinds(rel: &str) -> bool {
    rel == "src/preset/kind.rs"
}

/// Where a run state must not be text: the dashboard, but for the events it reads (`paused` and
/// `resumed` events in `series.rs`, which are event kinds, not states).
fn must_not_spell_states(rel: &str) -> bool {
    rel.starts_with("src/tui/") && rel != "src/tui/series.rs"
}

/// The kinds (and, in the dashboard, the run states) a file of `src/` at `rel` spells as text
/// (strings kept, line comments and unit tests left out).
fn texts_in(rel: &str, text: &str) -> Vec<String> {
    let text: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| format!("{l}\n"))
        .collect();
    let code = without_test_items(&text);
    let mut found = vec![];
    if !may_spell_kinds(rel) {
        for k in KIND_TEXTS.into_iter().filter(|k| code.contains(k)) {
            found.push(format!("{rel} spells the kind {k}: name preset::Kind"));
        }
    }
    if must_not_spell_states(rel) {
        for k in STATE_TEXTS.into_iter().filter(|k| code.contains(k)) {
            found.push(format!(
                "{rel} spells the run state {k}: name run::list::UserState"
            ));
        }
    }
    found
}

#[test]
fn kinds_are_types_not_text() {
    let mut files = vec![];
    rust_files(&src(), &mut files);
    let tests = test_module_files(&files);
    let mut broken = vec![];
    for f in files.iter().filter(|f| !tests.contains(*f)) {
        broken.extend(texts_in(&rel(f), &std::fs::read_to_string(f).unwrap()));
    }
    assert!(
        broken.is_empty(),
        "kinds and run states are types, not text:\n  {}",
        broken.join("\n  ")
    );
}

/// The checker itself, on planted files: a kind spelled in the dashboard's code (or anywhere but
/// `kind.rs`) and a run state spelled in the dashboard are found; comments and unit tests are not.
#[test]
fn the_kind_checker_finds_planted_texts() {
    let planted = "use crate::preset::Kind;\n\
                   // a \"cyclegan\" run in a comment\n\
                   fn f(r: &Run) -> bool { r.kind == \"cyclegan\" || r.state == \"paused\" }\n\
                   #[cfg(test)]\nmod tests { const K: &str = \"nst\"; }\n";
    assert_eq!(
        texts_in("src/tui/app/runs.rs", planted),
        [
            "src/tui/app/runs.rs spells the kind \"cyclegan\": name preset::Kind",
            "src/tui/app/runs.rs spells the run state \"paused\": name run::list::UserState",
        ]
    );
    assert_eq!(
        texts_in("src/cli/runs.rs", planted),
        ["src/cli/runs.rs spells the kind \"cyclegan\": name preset::Kind"]
    );
    assert!(texts_in("src/preset/kind.rs", planted).is_empty());
    assert!(texts_in("src/tui/series.rs", "let e = \"paused\";").is_empty());
}

#[test]
fn the_never_rules_hold() {
    let g = graph();
    let mut broken = vec![];
    for (f, names) in &g.names {
        let t = top(f);
        for (folder, never) in NEVER {
            if t != *folder {
                continue;
            }
            for n in names {
                if n.first().is_some_and(|m| never.contains(&m.as_str())) {
                    broken.push(format!("{} names crate::{}", rel(f), n.join("::")));
                }
            }
        }
    }
    broken.sort();
    broken.dedup();
    assert!(
        broken.is_empty(),
        "docs/ARCHITECTURE.md's never rules are broken:\n  {}",
        broken.join("\n  ")
    );
}

#[test]
fn no_two_files_import_each_other() {
    let g = graph();
    let mut pairs = vec![];
    for (a, targets) in &g.files {
        for b in targets {
            // a module file naming its own child (`mod.rs` → `mod.rs/child`) is not an import
            if a < b && g.files.get(b).is_some_and(|t| t.contains(a)) {
                let (pa, pb) = (module_path(a), module_path(b));
                if pb.starts_with(&pa) || pa.starts_with(&pb) {
                    continue;
                }
                pairs.push(format!("{} <-> {}", rel(a), rel(b)));
            }
        }
    }
    assert!(
        pairs.is_empty(),
        "files that import each other:\n  {}",
        pairs.join("\n  ")
    );
}

#[test]
fn top_level_modules_form_no_loop() {
    let g = graph();
    let mut edges: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (a, targets) in &g.files {
        for b in targets {
            let (ta, tb) = (top(a), top(b));
            if ta != tb && ta != "lib" && ta != "main" {
                edges
                    .entry(ta)
                    .or_default()
                    .entry(tb)
                    .or_insert_with(|| format!("{} -> {}", rel(a), rel(b)));
            }
        }
    }
    // a loop is an edge a -> b with a path b -> … -> a
    let mut loops = vec![];
    for (a, outs) in &edges {
        for (b, why) in outs {
            if let Some(back) = path_between(&edges, b, a) {
                loops.push(format!("{a} -> {b} ({why}), and back: {}", back.join("; ")));
            }
        }
    }
    assert!(
        loops.is_empty(),
        "top-level modules that depend on each other:\n  {}",
        loops.join("\n  ")
    );
}

/// A chain of edges from `from` to `to`, described by the file imports that make it.
fn path_between(
    edges: &BTreeMap<String, BTreeMap<String, String>>,
    from: &str,
    to: &str,
) -> Option<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![(from.to_string(), vec![])];
    while let Some((at, why)) = stack.pop() {
        if at == to {
            return Some(why);
        }
        if !seen.insert(at.clone()) {
            continue;
        }
        for (next, reason) in edges.get(&at).into_iter().flatten() {
            let mut w = why.clone();
            w.push(reason.clone());
            stack.push((next.clone(), w));
        }
    }
    None
}

/// The checker itself: paths through `use` groups, `super`, and comments are read right.
#[test]
fn the_reader_finds_what_a_file_names() {
    let me: Vec<String> = vec!["nn".into(), "kernels".into(), "conv".into()];
    let code = code_only(
        "use crate::{run::atomic, data::{image_io, grid::Grid}};\n\
         use super::winograd::forward; // crate::tui::x in a comment\n\
         let s = \"crate::launch::y\"; let c = '{';\n\
         fn f() { crate::train::end(); }\n\
         #[cfg(test)]\nmod tests { use crate::cli::z; }\n",
    );
    let code = without_test_items(&code);
    let got = referenced_paths(&code, &me, false);
    let want: Vec<Vec<String>> = [
        &["run", "atomic"][..],
        &["data", "image_io"],
        &["data", "grid", "Grid"],
        &["nn", "kernels", "winograd", "forward"],
        &["train", "end"],
    ]
    .iter()
    .map(|p| p.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(got, want);
}

/// The dashboard's files that may read the disk (or wait for what was read): the reader thread
/// (and the incremental metrics reading it owns), the image worker, the file watcher, the event
/// loop (which carries out effects) and `App::settle` (tests and scripts). Every other file of `src/tui/` — the views, the state and its `update`, the store of
/// what the reader read — reads none.
const TUI_READERS: &[&str] = &[
    "tui/reader.rs",
    "tui/series.rs",
    "tui/preview.rs",
    "tui/watch.rs",
    "tui/mod.rs",
    // waits for the reader thread: tests and scripts only
    "tui/settle.rs",
];

/// Names that read a file: std's file system, and the crate's functions and methods that read a
/// workspace (run folders, presets, datasets, images).
const READS: &[&str] = &[
    "fs",
    "File",
    "OpenOptions",
    "read_dir",
    "read_to_string",
    "metadata",
    "symlink_metadata",
    "is_file",
    "is_dir",
    "exists",
    "try_exists",
    "canonicalize",
    "read_link",
    "list_checkpoints",
    "newest_complete_checkpoint",
    "read_jsonl",
    "read_info",
    "read_status",
    "poll",
    "list_images",
    "list_runs",
    "summarize",
    "open_image",
    "preset_needs",
    "kind_of",
    // waits for the reader thread (tests only)
    "settle",
];

/// Crate paths that read a file under names too common to forbid alone.
const READ_PATHS: &[&[&str]] = &[
    &["data", "inspect", "inspect"],
    &["data", "inspect", "summary"],
    &["data", "inspect", "list"],
    &["preset", "load"],
    &["preset", "list"],
    &["run", "list", "list"],
    // the results page reads the whole run (the event loop writes it on a thread of its own)
    &["report", "build"],
    &["report", "write"],
    &["report", "check_output"],
    // the reader's own module: its `Files` read, its `Reader` waits
    &["tui", "reader"],
];

/// What in a piece of code (comments and strings blanked, tests left out) reads a file.
fn reads_in(code: &str, me: &[String]) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = vec![];
    let mut i = 0;
    while i < chars.len() {
        if !ident_char(chars[i]) || (i > 0 && ident_char(chars[i - 1])) {
            i += 1;
            continue;
        }
        let word: String = chars[i..].iter().take_while(|&&c| ident_char(c)).collect();
        if READS.contains(&word.as_str()) {
            found.push(word.clone());
        }
        i += word.len();
    }
    for p in referenced_paths(code, me, false) {
        if READ_PATHS
            .iter()
            .any(|r| p.len() >= r.len() && p[..r.len()].iter().zip(r.iter()).all(|(a, b)| a == b))
        {
            found.push(p.join("::"));
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn the_dashboard_draws_and_updates_without_reading_files() {
    let mut files = vec![];
    rust_files(&src().join("tui"), &mut files);
    let tests = test_module_files(&files);
    let mut broken = vec![];
    let mut checked = 0;
    for f in files.iter().filter(|f| !tests.contains(*f)) {
        let name = rel(f);
        if TUI_READERS.iter().any(|r| name == format!("src/{r}")) {
            continue;
        }
        checked += 1;
        let code = without_test_items(&code_only(&std::fs::read_to_string(f).unwrap()));
        // the state starts its reader thread (and names what it reads from): nothing more
        let starts_reader = name == "src/tui/app/mod.rs";
        for what in reads_in(&code, &module_path(f)) {
            if starts_reader && what.starts_with("tui::reader") {
                continue;
            }
            broken.push(format!("{name} reads a file: {what}"));
        }
    }
    assert!(
        checked >= 8,
        "the views, the state and the store are checked: {checked} files"
    );
    assert!(
        broken.is_empty(),
        "the dashboard's views and update read no file (ask the reader thread, src/tui/reader.rs):\n  {}",
        broken.join("\n  ")
    );
}

/// The checker itself: file reads through std, paths and methods are found, mentions in comments
/// and strings are not.
#[test]
fn the_read_checker_finds_reads() {
    let me: Vec<String> = vec!["tui".into(), "views".into(), "runs".into()];
    let code = code_only(
        "use std::fs; // std::fs::read_dir in a comment\n\
         let t = \"is_file\"; let ok = p.is_file(); let rows = std::fs::read_dir(d);\n\
         let r = crate::data::inspect::summary(&p); let rep: crate::data::inspect::Report;\n\
         let files = profile; let s = s.poll();\n",
    );
    assert_eq!(
        reads_in(&code, &me),
        [
            "data::inspect::summary",
            "fs",
            "is_file",
            "poll",
            "read_dir"
        ]
    );
}

/// What the CLI may name of `train`: its one start and its one resume, for every kind.
const CLI_TRAIN_API: &[&str] = &["start", "resume"];

/// The trainers' own modules, which only `train::start` / `train::resume` (and the trainers
/// themselves, and `bench`) name.
const TRAINER_MODULES: &[&str] = &["gan", "fast", "nst"];

/// The generic parts of training, which serve every kind and name none.
const GENERIC_TRAIN_FILES: &[&str] = &["src/train/batch.rs", "src/train/live.rs"];

/// What a file (at module path `me`, `rel` its path) names of `train` against the seam's rules.
fn seam_breaks(rel: &str, me: &[String], names: &[Vec<String>]) -> Vec<String> {
    let in_cli = me.first().is_some_and(|m| m == "cli" || m == "main");
    let generic = GENERIC_TRAIN_FILES.contains(&rel);
    let mut out = vec![];
    for n in names {
        if n.first().map(String::as_str) != Some("train") {
            continue;
        }
        let part = n.get(1).map(String::as_str).unwrap_or("");
        if in_cli && !CLI_TRAIN_API.contains(&part) {
            out.push(format!(
                "{rel} names crate::{} (the CLI starts and resumes through train::start / \
                 train::resume only)",
                n.join("::")
            ));
        }
        if generic && TRAINER_MODULES.contains(&part) {
            out.push(format!(
                "{rel} names crate::{} (the generic loop serves every trainer through the \
                 BatchTrainer trait)",
                n.join("::")
            ));
        }
    }
    out
}

#[test]
fn the_cli_reaches_trainers_only_through_start_and_resume() {
    let g = graph();
    let mut broken = vec![];
    let mut cli_files = 0;
    for (f, names) in &g.names {
        let me = module_path(f);
        if me.first().is_some_and(|m| m == "cli") {
            cli_files += 1;
        }
        broken.extend(seam_breaks(&rel(f), &me, names));
    }
    assert!(cli_files >= 10, "the CLI's files are checked: {cli_files}");
    broken.sort();
    broken.dedup();
    assert!(
        broken.is_empty(),
        "the trainer seam is broken (docs/ARCHITECTURE.md, \"One trainer seam\"):\n  {}",
        broken.join("\n  ")
    );
}

/// The seam's checker on planted files: a CLI file naming a trainer module (directly, in a
/// `use` group, through `aiart::`) or the loop, and the generic loop naming a trainer, are
/// caught; the start / resume API is not.
#[test]
fn the_seam_checker_catches_planted_files() {
    let cli: Vec<String> = vec!["cli".into(), "planted".into()];
    let code = code_only(
        "use aiart::train::gan::GanTrainer;\n\
         use aiart::train::{start::{self, Launch}, resume::resume, fast};\n\
         fn f() { aiart::train::batch::train(s, t, None, false, None); }\n\
         let s = \"aiart::train::nst::NstRun\"; // aiart::train::nst in a comment\n",
    );
    let names = referenced_paths(&without_test_items(&code), &cli, true);
    let got = seam_breaks("src/cli/planted.rs", &cli, &names);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got[0].contains("crate::train::gan::GanTrainer"), "{got:#?}");
    assert!(got[1].contains("crate::train::fast"), "{got:#?}");
    assert!(got[2].contains("crate::train::batch::train"), "{got:#?}");

    let lib_batch: Vec<String> = vec!["train".into(), "batch".into()];
    let code = code_only("use crate::train::gan::GanTrainer;\nuse crate::train::live::Live;\n");
    let names = referenced_paths(&code, &lib_batch, false);
    let got = seam_breaks("src/train/batch.rs", &lib_batch, &names);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert!(got[0].contains("crate::train::gan::GanTrainer"), "{got:#?}");
    // the same import is the start's to make
    let start: Vec<String> = vec!["train".into(), "start".into()];
    assert!(seam_breaks("src/train/start.rs", &start, &names).is_empty());
}

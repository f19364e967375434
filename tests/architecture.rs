//! Keeps the one-way order of `docs/ARCHITECTURE.md`: every top-level module ("room") of
//! `src/` may use only rooms on a lower floor. Read from the source itself — every
//! `crate::<room>` a non-comment line names, in `use` lists too — so a new import that points
//! up (and would start a cycle) fails here with the file and line that added it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The floors, lowest first: a room may use the rooms of the floors below its own.
const FLOORS: &[&[&str]] = &[
    &["error", "parallel"],
    &["names", "backend", "memory", "kernels"],
    &["data", "features"],
    &["trigger"],
    &["model"],
    &["train"],
    &["store"],
    &["experiment"],
    &["page"],
    &["cli", "web"],
];

fn floor_of(room: &str) -> Option<usize> {
    FLOORS.iter().position(|floor| floor.contains(&room))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The rooms `line` names as `crate::<room>`, including inside `use crate::{a, b::c}`.
fn rooms_named(line: &str) -> Vec<String> {
    let mut rooms = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            // Top-level names of the group: the word after `{` or after a comma at depth 0.
            let (mut depth, mut expect) = (0usize, true);
            let mut word = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => expect = true,
                    c if expect && (c.is_alphanumeric() || c == '_') => word.push(c),
                    _ if expect && !word.is_empty() => {
                        rooms.push(std::mem::take(&mut word));
                        expect = false;
                    }
                    _ => {}
                }
            }
            if !word.is_empty() {
                rooms.push(word);
            }
        } else {
            let name: String = after.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            rooms.push(name);
        }
        rest = after;
    }
    rooms
}

#[test]
fn every_room_uses_only_the_rooms_below_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let first = rel.iter().next().expect("a component").to_string_lossy().trim_end_matches(".rs").to_string();
        if first == "lib" || first == "main" {
            continue;
        }
        let Some(floor) = floor_of(&first) else {
            wrong.push(format!("src/{}: room '{first}' is on no floor of tests/architecture.rs (and docs/ARCHITECTURE.md)", rel.display()));
            continue;
        };
        let text = std::fs::read_to_string(file).expect("read");
        // `use` lists may span lines: join such a statement before looking.
        let mut statement = String::new();
        for (n, line) in text.lines().map(str::trim).enumerate() {
            if line.starts_with("//") {
                continue;
            }
            statement.push_str(line);
            statement.push(' ');
            let open = statement.matches('{').count() > statement.matches('}').count();
            if open && statement.contains("crate::{") {
                continue;
            }
            for room in rooms_named(&statement) {
                if room == first {
                    continue;
                }
                uses.entry(first.clone()).or_default().insert(room.clone());
                match floor_of(&room) {
                    Some(f) if f < floor => {}
                    _ => wrong.push(format!("src/{} (line {}): '{first}' uses '{room}', which is not below it", rel.display(), n + 1)),
                }
            }
            statement.clear();
        }
    }
    assert!(wrong.is_empty(), "imports against the one-way order:\n{}\nthe rooms' uses: {uses:#?}", wrong.join("\n"));
    // The check sees the imports it is meant to see (a parser that found nothing would pass).
    assert!(uses.get("train").is_some_and(|u| u.contains("model")), "train's use of model not seen: {uses:?}");
    assert!(uses.get("experiment").is_some_and(|u| u.contains("store") && u.contains("data")), "{uses:?}");
}

#[test]
fn the_room_parser_reads_paths_and_use_lists() {
    assert_eq!(rooms_named("use crate::model::{Arch, Head};"), ["model"]);
    assert_eq!(rooms_named("use crate::{data::Task, model::{Arch, Head}, error};"), ["data", "model", "error"]);
    assert_eq!(rooms_named("if crate::backend::is_flex(d) { crate::store::load(x) }"), ["backend", "store"]);
    assert!(rooms_named("let crate_name = 1;").is_empty());
}

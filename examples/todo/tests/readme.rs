//! The README's "Use it in your crate" quotes this crate: every quoted block names its file on
//! its first line (`// examples/todo/src/main.rs`, `# examples/todo/Cargo.toml`), and each
//! part of it (parts are separated by a `// …` line) must still be in that file, in order. So
//! the README's code is this crate's code, compiled and tested.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The fenced blocks of the README's section `title`: (info string, lines).
fn blocks_of_section(readme: &str, title: &str) -> Vec<(String, Vec<String>)> {
    let start = readme
        .find(&format!("\n## {title}\n"))
        .unwrap_or_else(|| panic!("the README has no section `{title}`"));
    let section = &readme[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |i| i + 3);
    let mut blocks = Vec::new();
    let mut open: Option<(String, Vec<String>)> = None;
    for line in section[..end].lines() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(info)) => open = Some((info.to_owned(), Vec::new())),
            (Some(_), Some("")) => blocks.extend(open.take()),
            (Some((_, lines)), _) => lines.push(line.to_owned()),
            (None, None) => {}
        }
    }
    assert!(open.is_none(), "an unclosed code block");
    blocks
}

/// The parts of a quoted block, each a run of lines, without blank lines around it.
fn parts(lines: &[String], separator: &str) -> Vec<String> {
    lines
        .split(|line| line == separator)
        .map(|part| part.join("\n").trim_matches('\n').to_owned())
        .filter(|part| !part.is_empty())
        .collect()
}

/// The first of `parts` that is not in `file` after the parts before it, if any.
fn first_part_not_in<'a>(file: &str, parts: &'a [String]) -> Option<&'a String> {
    let mut from = 0;
    for part in parts {
        let Some(at) = file[from..].find(part.as_str()) else {
            return Some(part);
        };
        from += at + part.len();
    }
    None
}

#[test]
fn every_snippet_the_readme_quotes_is_verbatim_in_this_crate() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let mut quoted = Vec::new();
    for (info, lines) in blocks_of_section(&readme, "Use it in your crate") {
        let comment = match info.as_str() {
            "toml" => "# ",
            "rust,ignore" | "rust" => "// ",
            _ => continue,
        };
        let Some(path) = lines.first().and_then(|l| l.strip_prefix(comment)) else {
            panic!("a quoted ```{info} block names its file on its first line: {lines:?}");
        };
        let file = std::fs::read_to_string(workspace().join(path))
            .unwrap_or_else(|e| panic!("{path}, quoted in the README: {e}"));
        let parts = parts(&lines[1..], &format!("{comment}…"));
        if let Some(part) = first_part_not_in(&file, &parts) {
            panic!("the README quotes, from {path}, what is not (or no longer in this order) in it:\n{part}");
        }
        quoted.push(path.to_owned());
    }
    assert_eq!(
        quoted,
        [
            "examples/todo/Cargo.toml",
            "examples/todo/src/lib.rs",
            "examples/todo/src/main.rs",
            "examples/todo/tests/schema.rs",
            "examples/todo/src/bin/todo-es.rs",
        ],
        "the README quotes these files, in this order"
    );
}

#[test]
fn a_changed_line_a_reordered_part_and_a_missing_one_are_caught() {
    let main =
        std::fs::read_to_string(workspace().join("examples/todo/src/main.rs")).expect("main.rs");
    let block = |lines: &[&str]| -> Vec<String> {
        let lines: Vec<String> = lines.iter().map(|&l| l.to_owned()).collect();
        parts(&lines, "// …")
    };
    let quoted = block(&[
        "fn main() -> Result<(), Box<dyn std::error::Error>> {",
        "// …",
        "    let store = FileStore::open(dir.join(\"events\"))?;",
    ]);
    assert_eq!(quoted.len(), 2, "two parts: {quoted:?}");
    assert_eq!(first_part_not_in(&main, &quoted), None, "quoted as it is");

    let changed = block(&[
        "fn main() -> Result<(), Box<dyn std::error::Error>> {",
        "// …",
        "    let store = FileStore::open(dir.join(\"event\"))?;",
    ]);
    assert_eq!(first_part_not_in(&main, &changed), Some(&changed[1]));

    let reordered = block(&[
        "    let store = FileStore::open(dir.join(\"events\"))?;",
        "// …",
        "fn main() -> Result<(), Box<dyn std::error::Error>> {",
    ]);
    assert_eq!(first_part_not_in(&main, &reordered), Some(&reordered[1]));

    let two_lines_joined = block(&[
        "fn main() -> Result<(), Box<dyn std::error::Error>> {",
        "    let store = FileStore::open(dir.join(\"events\"))?;",
    ]);
    assert_eq!(
        first_part_not_in(&main, &two_lines_joined),
        Some(&two_lines_joined[0]),
        "lines of one part must follow each other in the file"
    );
}

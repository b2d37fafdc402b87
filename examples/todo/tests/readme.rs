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
        let mut from = 0;
        for part in parts(&lines[1..], &format!("{comment}…")) {
            let Some(at) = file[from..].find(&part) else {
                panic!("the README quotes, from {path}, what is not (or no longer in this order) in it:\n{part}");
            };
            from += at + part.len();
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
fn a_changed_line_is_caught() {
    let lines: Vec<String> = ["// examples/todo/src/main.rs", "fn main() {", "// …", "}"]
        .map(str::to_owned)
        .to_vec();
    assert_eq!(parts(&lines[1..], "// …"), ["fn main() {", "}"]);
    let main =
        std::fs::read_to_string(workspace().join("examples/todo/src/main.rs")).expect("main.rs");
    assert!(main.contains("let store = FileStore::open(dir.join(\"events\"))?;"));
    assert!(!main.contains("let store = FileStore::open(dir.join(\"event\"))?;"));
}

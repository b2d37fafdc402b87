//! Arbitrary text as a JSON Lines file for `es import`: every non-blank line through the
//! import's line parser, which reads this tool's export format and EventStoreDB-style
//! exports. Never a panic; an accepted line has a stream version from 1, and metadata that
//! is acceptable again as it is.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // `import` reads lines as UTF-8 and fails on anything else before parsing.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Ok((_stream, version, event)) = es_cli::__fuzz::parse_import_line(line) {
            assert!(version >= 1, "accepted {line:?}");
            let _ = (
                event.payload(),
                event.metadata().as_map(),
                event.recorded_at(),
            );
            let text = event.metadata().as_str();
            assert!(
                es_core::Metadata::from_json(text).is_ok(),
                "metadata {text:?}"
            );
        }
    }
});

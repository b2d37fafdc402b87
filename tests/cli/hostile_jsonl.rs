//! `import` and `export` on hostile input: no panic, no silent change, nothing lost. Each
//! test is named after what it guards; a failed import must leave nothing behind.

use es_core::{EventStore, ExpectedVersion, FileStore, NewEvent, StoredEvent};
use serde_json::json;

use super::*;

/// A line of this tool's format with the given stream, version and id number.
fn line(stream: &str, version: u64, id: u32) -> serde_json::Value {
    json!({
        "stream_id": stream,
        "stream_version": version,
        "event_id": format!("00000000-0000-4000-8000-{id:012}"),
        "event_type": "Pinged",
        "schema_version": 1,
        "payload": {"n": id},
    })
}

/// Writes `lines` to a file next to a store directory that does not exist yet.
fn file_of(temp: &tempfile::TempDir, lines: &[String]) -> (PathBuf, PathBuf) {
    let file = temp.path().join("in.jsonl");
    std::fs::write(&file, lines.join("\n")).expect("write");
    (temp.path().join("store"), file)
}

/// Imports `lines` into a new directory; returns the run and the directory.
fn import_lines(temp: &tempfile::TempDir, lines: &[String]) -> (Run, PathBuf) {
    let (dir, file) = file_of(temp, lines);
    (
        es_untyped(&["import", path(&dir), path(&file)], &[&dir, &file]),
        dir,
    )
}

/// The error of importing `lines` into a new directory, which must not be created.
fn refused(lines: &[String]) -> String {
    let temp = tempfile::tempdir().expect("temp dir");
    let (run, dir) = import_lines(&temp, lines);
    assert_eq!(run.exit, Exit::Failed, "{}", run.out);
    assert!(
        !dir.exists(),
        "a failed import creates nothing: {}",
        run.err
    );
    run.err
}

fn stored(dir: &Path) -> Vec<StoredEvent> {
    let store = FileStore::open_read_only(dir).expect("open");
    store
        .read_all(1)
        .expect("read")
        .collect::<Result<_, _>>()
        .expect("read")
}

// Finding 3.

#[test]
fn an_eventstoredb_event_number_of_u64_max_is_an_error_naming_the_line_not_an_overflow() {
    let err = refused(&[json!({
        "streamId": "s", "eventNumber": 18_446_744_073_709_551_615_u64,
        "eventType": "Pinged", "data": {},
    })
    .to_string()]);
    assert!(
        err.contains(":1: `eventNumber` 18446744073709551615 is too large"),
        "{err}"
    );
}

// Finding 4.

#[test]
fn a_third_line_with_an_empty_stream_id_fails_the_import_and_creates_nothing() {
    let mut bad = line("s", 3, 3);
    bad["stream_id"] = json!("");
    let err = refused(&[
        line("s", 1, 1).to_string(),
        line("s", 2, 2).to_string(),
        bad.to_string(),
    ]);
    assert!(err.contains(":3: the stream id is empty"), "{err}");
}

#[test]
fn limits_of_the_store_are_checked_on_every_line_before_the_first_append() {
    let over = es_core::store::backend::MAX_PAYLOAD_BYTES + 1;
    let mut big_payload = line("s", 2, 2);
    big_payload["payload"] = json!("x".repeat(over));
    let mut long_stream = line(&"s".repeat(65_536), 1, 2);
    long_stream["payload"] = json!({});
    let mut empty_tag = line("s", 2, 2);
    empty_tag["event_type"] = json!("");
    let mut long_tag = line("s", 2, 2);
    long_tag["event_type"] = json!("T".repeat(65_536));
    let mut big_metadata = line("s", 2, 2);
    big_metadata["metadata"] = json!({ "m": "x".repeat(over) });
    let mut zero_version = line("s", 2, 2);
    zero_version["schema_version"] = json!(0);
    for (second, expected) in [
        (
            big_payload,
            ":2: the payload is 16777219 bytes, more than the limit of 16777216",
        ),
        (long_stream, ":2: a stream id must be at most 65535 bytes"),
        (empty_tag, ":2: the event type is empty"),
        (
            long_tag,
            ":2: the event type is 65536 bytes, more than the limit of 65535",
        ),
        (
            big_metadata,
            ":2: `metadata`: the metadata is 16777225 bytes as JSON, more than the limit",
        ),
        (
            zero_version,
            ":2: `schema_version` must be from 1 to 4294967295, not 0",
        ),
        (
            line("t", 1, 1),
            ":2: event id 00000000-0000-4000-8000-000000000001 is also on line 1",
        ),
    ] {
        let err = refused(&[line("s", 1, 1).to_string(), second.to_string()]);
        assert!(err.contains(expected), "{expected}: {err}");
    }
}

#[test]
fn a_file_without_event_ids_can_be_imported_once_its_bad_line_is_corrected() {
    let without_id = |stream: &str, version: u64| {
        let mut l = line(stream, version, 0);
        l.as_object_mut().expect("object").remove("event_id");
        l.to_string()
    };
    let temp = tempfile::tempdir().expect("temp dir");
    let mut lines = vec![without_id("s", 1), without_id("s", 2), without_id("", 3)];
    let (run, dir) = import_lines(&temp, &lines);
    assert_eq!(run.exit, Exit::Failed);
    assert!(!dir.exists());
    lines[2] = without_id("s", 3);
    let (run, dir) = import_lines(&temp, &lines);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    assert_eq!(stored(&dir).len(), 3);
}

#[test]
fn an_id_stored_in_another_stream_fails_the_import_before_anything_is_written() {
    let temp = tempfile::tempdir().expect("temp dir");
    let (dir, file) = file_of(
        &temp,
        &[line("b", 1, 8).to_string(), line("b", 2, 9).to_string()],
    );
    let store = FileStore::open(&dir).expect("open");
    let taken = NewEvent::new("Pinged", 1, json!({})).with_event_id(
        es_core::Uuid::parse_str("00000000-0000-4000-8000-000000000009").expect("uuid"),
    );
    store
        .append("a", ExpectedVersion::Any, vec![taken])
        .expect("append");
    drop(store);
    let run = es_untyped(&["import", path(&dir), path(&file)], &[&dir, &file]);
    assert_eq!(run.exit, Exit::Failed);
    assert!(
        run.err.contains(":2: event id 00000000-0000-4000-8000-000000000009 is already stored, in stream `a` at version 1"),
        "{}",
        run.err
    );
    assert_eq!(stored(&dir).len(), 1, "stream b was not written");
}

#[test]
fn a_failed_import_creates_no_lock_segment_or_subfolder() {
    let temp = tempfile::tempdir().expect("temp dir");
    // A missing input file.
    let dir = temp.path().join("store");
    let missing = temp.path().join("missing.jsonl");
    let run = es_untyped(&["import", path(&dir), path(&missing)], &[&dir, &missing]);
    assert_eq!(run.exit, Exit::Failed);
    assert!(!dir.exists(), "{}", run.err);
    // A directory that holds other files: not a store.
    let (_, file) = file_of(&temp, &[line("s", 1, 1).to_string()]);
    let other = temp.path().join("notes");
    std::fs::create_dir(&other).expect("dir");
    std::fs::write(other.join("todo.txt"), "x").expect("write");
    let run = es_untyped(&["import", path(&other), path(&file)], &[&other, &file]);
    assert_eq!(run.exit, Exit::Failed);
    assert!(run.err.contains("is not a store"), "{}", run.err);
    let names: Vec<_> = std::fs::read_dir(&other)
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, ["todo.txt"]);
    // An empty directory is a new store, created once the file has passed its checks.
    let empty = temp.path().join("empty");
    std::fs::create_dir(&empty).expect("dir");
    let run = es_untyped(&["import", path(&empty), path(&file)], &[&empty, &file]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    assert_eq!(stored(&empty).len(), 1);
}

// Finding 5.

#[test]
fn big_integers_doubles_and_key_order_pass_through_import_and_export_byte_for_byte() {
    let mut rng = fastrand::Rng::with_seed(5);
    let doubles: Vec<String> = std::iter::repeat_with(|| f64::from_bits(rng.u64(..)))
        .filter(|d| d.is_finite())
        .take(3000)
        .map(|d| format!("{d:e}"))
        .collect();
    let payload = format!(
        r#"{{"z":123456789012345678901234567890,"a":-0.0,"m":"\u00e9\ud83d\ude00","d":[{}],"big":1e400}}"#,
        doubles.join(",")
    );
    let text = format!(
        r#"{{"stream_id":"s","stream_version":1,"event_id":"00000000-0000-4000-8000-000000000001","event_type":"Pinged","schema_version":1,"payload":{payload}}}"#
    );
    let temp = tempfile::tempdir().expect("temp dir");
    let (run, dir) = import_lines(&temp, &[text]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    assert_eq!(stored(&dir)[0].payload, payload.as_bytes());
    let exported = es_untyped(&["export", path(&dir)], &[&dir]);
    assert!(
        exported
            .out
            .ends_with(&format!(",\"payload\":{payload}}}\n")),
        "{}",
        exported.out
    );
}

/// Metadata as another system writes it: an integer beyond 64 bits, doubles spelled their
/// own way, keys out of order, nesting, spacing and escapes.
const ODD_METADATA: &str = r#"{"trace": 123456789012345678901234567890, "b": [1.10, -0.0, 1E+2, 5e-324], "a": {"z": {"y": "\u00e9"}, "x": null}}"#;

#[test]
fn metadata_big_integers_and_key_order_survive_append_read_export_import() {
    let new = || {
        NewEvent::new("Pinged", 1, json!({}))
            .with_metadata_json(ODD_METADATA)
            .expect("an object")
    };
    let metadata_of = |store: &dyn EventStore| -> Vec<String> {
        let all = store.read_all(1).expect("read_all");
        let in_stream = store.read_stream("s", 1).expect("read_stream");
        all.chain(in_stream)
            .map(|e| e.expect("readable").metadata.as_str().to_owned())
            .collect()
    };
    let both = vec![ODD_METADATA.to_owned(); 2];

    let memory = es_core::MemoryStore::new();
    memory
        .append("s", ExpectedVersion::NoStream, vec![new()])
        .expect("append");
    assert_eq!(metadata_of(&memory), both);

    let temp = tempfile::tempdir().expect("temp dir");
    let dir = temp.path().join("store");
    let store = FileStore::open(&dir).expect("open");
    store
        .append("s", ExpectedVersion::NoStream, vec![new()])
        .expect("append");
    assert_eq!(metadata_of(&store), both, "read by the writer");
    drop(store);
    assert_eq!(
        metadata_of(&FileStore::open(&dir).expect("reopen")),
        both,
        "read after reopening"
    );
    let read_only = FileStore::open_read_only(&dir).expect("open read-only");
    assert_eq!(metadata_of(&read_only), both, "read by a reader");
    let stored = &stored(&dir)[0];
    assert_eq!(stored.metadata["trace"], json!(1.234_567_890_123_456_8e29));

    let exported = es_untyped(&["export", path(&dir)], &[&dir]);
    assert_eq!(exported.exit, Exit::Success, "{}", exported.err);
    assert!(
        exported
            .out
            .contains(&format!(r#","metadata":{ODD_METADATA},"payload""#)),
        "{}",
        exported.out
    );
    let again = tempfile::tempdir().expect("temp dir");
    let (run, imported) = import_lines(&again, &[exported.out.trim_end().to_owned()]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    let imported = FileStore::open_read_only(&imported).expect("open");
    assert_eq!(metadata_of(&imported), both, "exported and imported");

    let migrated = temp.path().join("migrated");
    let run = es_untyped(
        &["migrate", path(&dir), path(&migrated)],
        &[&dir, &migrated],
    );
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    let migrated = FileStore::open_read_only(&migrated).expect("open");
    assert_eq!(metadata_of(&migrated), both, "migrated");
}

#[test]
fn metadata_big_integers_doubles_and_key_order_pass_through_import_and_export_byte_for_byte() {
    let mut rng = fastrand::Rng::with_seed(55);
    let doubles: Vec<String> = std::iter::repeat_with(|| f64::from_bits(rng.u64(..)))
        .filter(|d| d.is_finite())
        .take(3000)
        .map(|d| format!("{d:e}"))
        .collect();
    let metadata = format!(
        r#"{{"z":123456789012345678901234567890,"a":{{"y":-0.0,"b":1E+2}},"m":"\u00e9","d":[{}]}}"#,
        doubles.join(",")
    );
    // Spread over lines, the same text can only be exported as `metadata_text`.
    let spread = "{\n  \"z\": 1,\n  \"a\": 2\n}";
    let mut in_one_line = line("s", 1, 1);
    in_one_line["metadata"] = json!("placeholder");
    let in_one_line = in_one_line
        .to_string()
        .replace(r#""placeholder""#, &metadata);
    let mut as_text = line("s", 2, 2);
    as_text["metadata_text"] = json!(spread);
    let temp = tempfile::tempdir().expect("temp dir");
    let (run, dir) = import_lines(&temp, &[in_one_line, as_text.to_string()]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    let events = stored(&dir);
    assert_eq!(events[0].metadata.as_str(), metadata);
    assert_eq!(events[1].metadata.as_str(), spread);

    let exported = es_untyped(&["export", path(&dir)], &[&dir]);
    assert_eq!(exported.exit, Exit::Success, "{}", exported.err);
    let lines: Vec<&str> = exported.out.lines().collect();
    assert_eq!(lines.len(), 2, "one line per event: {}", exported.out);
    assert!(
        lines[0].contains(&format!(r#","metadata":{metadata},"payload""#)),
        "{}",
        lines[0]
    );
    let second: serde_json::Value = serde_json::from_str(lines[1]).expect("a JSON line");
    assert_eq!(second["metadata_text"], json!(spread));
    assert_eq!(second.get("metadata"), None);

    let again = tempfile::tempdir().expect("temp dir");
    let (run, copy) = import_lines(&again, &[lines[0].to_owned(), lines[1].to_owned()]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    let copied: Vec<String> = stored(&copy)
        .iter()
        .map(|e| e.metadata.as_str().to_owned())
        .collect();
    assert_eq!(copied, [metadata, spread.to_owned()]);
}

#[test]
fn metadata_that_is_not_one_object_without_repeated_keys_is_refused_naming_the_key() {
    for (metadata, expected) in [
        (
            r#"{"a":{"b":1,"b":2}}"#,
            ":1: `metadata`: the metadata gives the key `b` twice",
        ),
        (
            r#"{"a":1e400}"#,
            ":1: `metadata`: the metadata is not valid JSON",
        ),
    ] {
        let text = format!(
            r#"{{"stream_id":"s","stream_version":1,"event_type":"Pinged","schema_version":1,"metadata":{metadata},"payload":{{}}}}"#
        );
        let err = refused(&[text]);
        assert!(err.contains(expected), "{expected}: {err}");
    }
    let mut both = line("s", 1, 1);
    both["metadata"] = json!({});
    both["metadata_text"] = json!("{}");
    let err = refused(&[both.to_string()]);
    assert!(
        err.contains(":1: give the metadata once: `metadata` or `metadata_text`"),
        "{err}"
    );
}

// Finding 6, export part.

#[test]
fn payloads_deeper_than_128_levels_or_not_json_export_and_reimport_unchanged() {
    let temp = tempfile::tempdir().expect("temp dir");
    let source = temp.path().join("source");
    let payloads: Vec<Vec<u8>> = vec![
        format!("{}{}", "[".repeat(1000), "]".repeat(1000)).into_bytes(),
        b"{\n  \"pretty\": true\n}".to_vec(),
        b" 1 ".to_vec(),
        b"not json".to_vec(),
        vec![0xff, 0x00, b'{'],
        br#"{"k":1,"k":2}"#.to_vec(),
    ];
    let store = FileStore::open(&source).expect("open");
    for payload in &payloads {
        let event = NewEvent::from_json_bytes("Raw", 1, payload.clone());
        store
            .append("s", ExpectedVersion::Any, vec![event])
            .expect("append");
    }
    drop(store);
    let file = temp.path().join("out.jsonl");
    let run = es_untyped(
        &["export", path(&source), "-o", path(&file)],
        &[&source, &file],
    );
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    let text = std::fs::read_to_string(&file).expect("export");
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].ends_with(&format!(
        "\"payload\":{}{}}}",
        "[".repeat(1000),
        "]".repeat(1000)
    )));
    assert!(
        lines[1].contains(r#""payload_text":"{\n  \"pretty\": true\n}""#),
        "{}",
        lines[1]
    );
    assert!(
        lines[4].contains(r#""payload_base64":"/wB7""#),
        "{}",
        lines[4]
    );
    let target = temp.path().join("target");
    let run = es_untyped(&["import", path(&target), path(&file)], &[&target, &file]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    let reimported: Vec<Vec<u8>> = stored(&target).into_iter().map(|e| e.payload).collect();
    assert_eq!(reimported, payloads);
}

// Finding 7.

#[test]
fn eventstoredb_lines_refuse_unknown_keys_and_two_schema_versions() {
    let err = refused(&[json!({
        "streamId": "s", "eventNumber": 0, "eventType": "Pinged", "data": {},
        "metaData": {"schemaVersion": 2},
    })
    .to_string()]);
    assert!(
        err.contains(":1: unknown key `metaData` (did you mean `metadata`?)"),
        "{err}"
    );
    let err = refused(&[json!({
        "streamId": "s", "eventNumber": 0, "eventType": "Pinged", "data": {},
        "metadata": {"schemaVersion": 2, "$schemaVersion": 3},
    })
    .to_string()]);
    assert!(
        err.contains(":1: the metadata gives the schema version twice, as `schemaVersion` and as `$schemaVersion`"),
        "{err}"
    );
}

#[test]
fn times_outside_the_store_s_range_are_refused_and_offsets_are_read() {
    let mut far = line("s", 1, 1);
    far["recorded_at"] = json!("9999-12-31T00:00:00Z");
    let err = refused(&[far.to_string()]);
    assert!(
        err.contains(":1: `recorded_at`: 9999-12-31T00:00:00Z is outside the times a store holds"),
        "{err}"
    );
    let with_offset = json!({
        "streamId": "s", "eventNumber": 0, "eventType": "Pinged", "data": {},
        "created": "1960-01-01T02:00:00.000000001+02:00",
    });
    let temp = tempfile::tempdir().expect("temp dir");
    let (run, dir) = import_lines(&temp, &[with_offset.to_string()]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    let exported = es_untyped(&["export", path(&dir)], &[&dir]);
    assert!(
        exported
            .out
            .contains(r#""recorded_at":"1960-01-01T00:00:00.000000001Z""#),
        "{}",
        exported.out
    );
}

// Finding 8.

#[test]
fn import_errors_name_the_line_and_the_key() {
    let base = line("s", 1, 1);
    let with = |key: &str, value: serde_json::Value| {
        let mut l = base.clone();
        l[key] = value;
        l.to_string()
    };
    let without = |key: &str| {
        let mut l = base.clone();
        l.as_object_mut().expect("object").remove(key);
        l.to_string()
    };
    let typo = base
        .to_string()
        .replace("\"stream_version\"", "\"stream_vesion\"");
    for (bad, expected) in [
        (
            without("stream_version"),
            ":2: the key `stream_version` is missing",
        ),
        (typo, ":2: unknown key `stream_vesion`"),
        (with("extra", json!(1)), ":2: unknown key `extra`"),
        (
            with("event_id", json!("not-a-uuid")),
            ":2: `event_id` is not a UUID",
        ),
        (
            with("stream_version", json!("1")),
            ":2: `stream_version` must be an integer, not a string",
        ),
        (
            with("metadata", json!([])),
            ":2: `metadata`: the metadata must be an object, not an array",
        ),
        (
            r#"{"event_type":"a","event_type":"b"}"#.to_owned(),
            ":2: not a JSON object: the key `event_type` is given twice",
        ),
    ] {
        let err = refused(&[line("t", 1, 9).to_string(), bad]);
        assert!(err.contains(expected), "{expected}: {err}");
    }
    let temp = tempfile::tempdir().expect("temp dir");
    let file = temp.path().join("bytes.jsonl");
    let mut bytes = line("t", 1, 9).to_string().into_bytes();
    bytes.extend_from_slice(b"\n{\"stream_id\":\"\xff\"}\n");
    std::fs::write(&file, bytes).expect("write");
    let dir = temp.path().join("store");
    let run = es_untyped(&["import", path(&dir), path(&file)], &[&dir, &file]);
    assert!(
        run.err
            .contains(":2: not UTF-8 (an invalid byte at column 15)"),
        "{}",
        run.err
    );
}

#[test]
fn an_export_that_contains_an_earlier_export_imports_and_repeats_write_nothing() {
    let (temp, dir) = bank_store();
    let first = std::fs::read_to_string(BANK).expect("fixture");
    let more = temp.path().join("more.jsonl");
    std::fs::write(&more, line("acc-009", 1, 99).to_string()).expect("write");
    let run = es(&["import", path(&dir), path(&more)], &[&dir, &more]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    let second = es(&["export", path(&dir)], &[&dir]).out;
    let both = temp.path().join("both.jsonl");
    std::fs::write(&both, format!("{first}{second}")).expect("write");
    let target = temp.path().join("target");
    let run = es(&["import", path(&target), path(&both)], &[&target, &both]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    insta::assert_snapshot!(run.out, @"imported 7 events into <dir> (6 already there)");
    let run = es(&["import", path(&target), path(&both)], &[&target, &both]);
    insta::assert_snapshot!(run.out, @"imported 0 events into <dir> (13 already there)");
    // A repeated line that differs from the first is refused, not skipped.
    let changed = second.replacen("\"amount\":30", "\"amount\":31", 1);
    std::fs::write(&both, format!("{first}{changed}")).expect("write");
    let fresh = temp.path().join("fresh");
    let run = es(&["import", path(&fresh), path(&both)], &[&fresh, &both]);
    assert_eq!(run.exit, Exit::Failed);
    assert!(
        run.err.contains(":8: stream `acc-001` version 2 is already on line 2, and this line is not the same event"),
        "{}",
        run.err
    );
}

#[test]
fn a_line_at_a_stored_version_must_be_the_stored_event() {
    let (temp, dir) = bank_store();
    let changed = std::fs::read_to_string(BANK).expect("fixture").replacen(
        "\"amount\":30",
        "\"amount\":31",
        1,
    );
    let file = temp.path().join("changed.jsonl");
    std::fs::write(&file, changed).expect("write");
    let run = es(&["import", path(&dir), path(&file)], &[&dir, &file]);
    assert_eq!(run.exit, Exit::Failed);
    assert!(
        run.err.contains(":2: the store has event 00000000-0000-4000-8000-000000000002 at `acc-001` version 2 with a different type, schema version, payload or metadata"),
        "{}",
        run.err
    );
}

// Finding 11, CLI part.

#[test]
fn a_closed_standard_output_ends_a_command_quietly_with_exit_zero() {
    struct ClosedPipe;
    impl std::io::Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
    }
    let (_temp, dir) = bank_store();
    for typed in [true, false] {
        let mut err = Vec::new();
        let mut output = Output {
            out: &mut ClosedPipe,
            err: &mut err,
            progress: false,
        };
        let exit = if typed {
            execute::<AccountEvent>(["account-es", "export", path(&dir)], &mut output)
        } else {
            execute_untyped(["es", "tail", path(&dir)], &mut output)
        };
        assert_eq!(exit, Exit::Success);
        assert_eq!(String::from_utf8_lossy(&err), "");
    }
}

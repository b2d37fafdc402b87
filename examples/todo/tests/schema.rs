//! The schema safety net: a lock of every event version, and samples of old payloads.

use todo::TodoEvent;

/// Fails when a published version changes, or a new one appears before it is reviewed
/// (accept a new one with `ES_UPDATE_LOCK=1 cargo test -p todo --test schema`).
#[test]
fn schema_lock() {
    es_core::schema::check_lock::<TodoEvent>("tests/fixtures/todo_events.lock.json").unwrap();
}

/// What a sample of every stored (tag, version) decodes into today; review a change with
/// `cargo insta review`.
#[test]
fn golden_fixtures() {
    let decoded = es_core::schema::golden_fixtures::<TodoEvent>("tests/fixtures/golden").unwrap();
    insta::assert_json_snapshot!(decoded);
}

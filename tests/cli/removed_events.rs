//! `check` and `migrate` on a log holding events of a tag removed on purpose: both count the
//! same log the same way, and `migrate` reports the stream versions it renumbers.

use es_core::{EventStore, FileStore};
use es_tests::order::OrderEvent;

use super::*;

/// Ten events of three orders: four `CartViewed` (a tag `OrderEvent` removed on purpose),
/// three to upcast (one `ItemsAdded` v1 split into two events), three already current.
const ORDER_LOG: &str = r#"{"stream_id":"order-1","stream_version":1,"event_type":"CartViewed","schema_version":1,"payload":{"session":"s-1"}}
{"stream_id":"order-1","stream_version":2,"event_type":"OrderPlaced","schema_version":1,"payload":{"customer":"ada"}}
{"stream_id":"order-1","stream_version":3,"event_type":"CartViewed","schema_version":4,"payload":{"session":"s-2","device":"phone"}}
{"stream_id":"order-1","stream_version":4,"event_type":"ItemAdded","schema_version":2,"payload":{"sku":"tea-01","quantity":5}}
{"stream_id":"order-2","stream_version":1,"event_type":"OrderPlaced","schema_version":2,"payload":{"customer":"bo","channel":"app"}}
{"stream_id":"order-2","stream_version":2,"event_type":"ItemsAdded","schema_version":1,"payload":{"items":[{"sku":"tea-01","qty":2},{"sku":"mug-07","qty":1}]}}
{"stream_id":"order-2","stream_version":3,"event_type":"CartViewed","schema_version":1,"payload":{"session":"s-3"}}
{"stream_id":"order-2","stream_version":4,"event_type":"ItemAdded","schema_version":1,"payload":{"sku":"pot-02","qty":1}}
{"stream_id":"order-3","stream_version":1,"event_type":"OrderPlaced","schema_version":2,"payload":{"customer":"cy","channel":"web"}}
{"stream_id":"order-3","stream_version":2,"event_type":"CartViewed","schema_version":1,"payload":{"session":"s-4"}}
"#;

fn order_store(temp: &tempfile::TempDir) -> PathBuf {
    let file = temp.path().join("orders.jsonl");
    std::fs::write(&file, ORDER_LOG).expect("write");
    let dir = temp.path().join("orders");
    let run = es_typed::<OrderEvent>(&["import", path(&dir), path(&file)], &[&dir]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    dir
}

/// The number written before `label` in `text`: `number_before("3 upcast", "upcast") == 3`.
fn number_before(text: &str, label: &str) -> u64 {
    let at = text
        .find(&format!(" {label}"))
        .unwrap_or_else(|| panic!("no `{label}` in {text}"));
    let digits: String = text[..at]
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("no number before `{label}` in {text}"))
}

#[test]
fn check_and_migrate_count_upcast_current_and_removed_events_alike() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = order_store(&temp);
    let check = es_typed::<OrderEvent>(&["check", path(&dir)], &[&dir]);
    assert_eq!(check.exit, Exit::Success, "{}", check.out);
    insta::assert_snapshot!(check.out);

    let new_dir = temp.path().join("migrated");
    let migrate =
        es_typed::<OrderEvent>(&["migrate", path(&dir), path(&new_dir)], &[&dir, &new_dir]);
    assert_eq!(migrate.exit, Exit::Success, "{}", migrate.err);
    insta::assert_snapshot!(migrate.out);

    let (checked, migrated) = (
        check.out.lines().next().expect("summary"),
        migrate.out.lines().next().expect("summary"),
    );
    for label in ["upcast", "already current", "removed"] {
        assert_eq!(
            number_before(checked, label),
            number_before(migrated, label),
            "`{label}` in\n{checked}\n{migrated}"
        );
    }
    assert_eq!(
        [
            number_before(checked, "upcast"),
            number_before(checked, "already current"),
            number_before(checked, "removed")
        ],
        [3, 3, 4]
    );
    assert_eq!(number_before(migrated, "written"), 7, "the split wrote two");

    let copy = es_typed::<OrderEvent>(&["check", path(&new_dir)], &[&new_dir]);
    assert!(
        copy.out
            .starts_with("checked 7 events in <dir>: 7 decoded (0 upcast, 7 already current), 0 removed, 0 failed"),
        "{}",
        copy.out
    );
}

#[test]
fn migrate_reports_the_stream_versions_it_renumbers_and_what_to_rebuild() {
    let temp = tempfile::tempdir().expect("temp dir");
    let dir = order_store(&temp);
    let new_dir = temp.path().join("migrated");
    let migrate =
        es_typed::<OrderEvent>(&["migrate", path(&dir), path(&new_dir)], &[&dir, &new_dir]);
    assert_eq!(migrate.exit, Exit::Success, "{}", migrate.err);
    // order-1 loses v1 and v3, so its v2 and v4 become v1 and v2; order-2's split and removal
    // cancel out (its v4 stays v4); order-3 loses only its last event.
    assert!(
        migrate.out.contains("renumbered 2 events in 1 stream"),
        "{}",
        migrate.out
    );
    assert!(
        migrate.out.contains("rebuild read models") && migrate.out.contains("snapshots"),
        "{}",
        migrate.out
    );
    let store = FileStore::open_read_only(&new_dir).expect("open");
    let versions = |stream: &str| -> Vec<(u64, String)> {
        store
            .read_stream(stream, 1)
            .expect("read")
            .map(|e| {
                let e = e.expect("readable");
                (e.stream_version, e.event_type)
            })
            .collect()
    };
    assert_eq!(
        versions("order-1"),
        [(1, "OrderPlaced".to_owned()), (2, "ItemAdded".to_owned())]
    );
    assert_eq!(
        versions("order-2")
            .iter()
            .map(|(v, _)| *v)
            .collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
}

#[test]
fn migrate_of_a_log_without_removals_or_splits_renumbers_nothing() {
    let (temp, dir) = bank_store();
    let new_dir = temp.path().join("migrated");
    let run = es(&["migrate", path(&dir), path(&new_dir)], &[&dir, &new_dir]);
    assert_eq!(run.exit, Exit::Success, "{}", run.err);
    assert!(
        run.out
            .contains("streams, stream versions and event ids are unchanged"),
        "{}",
        run.out
    );
    assert!(!run.out.contains("renumbered"), "{}", run.out);
}

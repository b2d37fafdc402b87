//! The event store conformance suite, the same as the file store's, against PostgreSQL.

mod support;

es_core::event_store_conformance!(optional: support::fixture);

use std::ops::ControlFlow;

use es_core::{EventStore, ExpectedVersion, NewEvent, StoredEvent};
use es_postgres::PgStore;

/// Pages of 4 rows: ranges that start, end and run across pages read what `read_all` reads,
/// whatever the page size.
#[test]
fn visit_range_reads_the_same_events_across_pages_of_any_size() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let store = PgStore::options(&fixture.url)
        .schema(&fixture.schema)
        .read_batch(4)
        .connect()
        .expect("a store with small pages");
    let batch = (0..23)
        .map(|n| NewEvent::new("Noted", 1, serde_json::json!({ "n": n })))
        .collect();
    store
        .append("s", ExpectedVersion::Any, batch)
        .expect("append");
    let everything: Vec<StoredEvent> = store
        .read_all(1)
        .expect("read_all")
        .collect::<Result<_, _>>()
        .expect("read back");
    assert_eq!(everything.len(), 23);
    for (from, through) in [(1, 23), (1, 4), (2, 9), (4, 5), (5, 8), (7, 7), (20, 99)] {
        let mut lent = Vec::new();
        store
            .visit_range(from, through, &mut |event| {
                lent.push(event.position);
                ControlFlow::Continue(())
            })
            .expect("visit_range");
        let expected: Vec<u64> = everything
            .iter()
            .map(|e| e.position)
            .filter(|p| (from..=through).contains(p))
            .collect();
        assert_eq!(lent, expected, "visit_range({from}, {through})");
    }
}

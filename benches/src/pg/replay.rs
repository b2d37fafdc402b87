//! Replay: `visit_all` + `decode_ref` beside a bare `SELECT` parsed with `serde_json`.

use std::ops::ControlFlow;

#[allow(clippy::wildcard_imports)]
use super::*;

/// The peer's decode: the payload parsed by `serde_json` into the struct of its stored
/// version, turned into today's event by the same `From` steps the derive chains, and applied.
/// What the replay does less the store: no envelope, no metadata, no stream id or event id.
fn decode_typed(totals: &mut ShopTotals, tag: &str, version: i64, json: &[u8]) {
    let parse_error = "benchmark payloads parse";
    let event = match (tag, version) {
        ("OrderPlaced", 1) => {
            let v1: OrderPlacedV1 = serde_json::from_slice(json).expect(parse_error);
            ShopEvent::Placed(OrderPlaced::from(OrderPlacedV2::from(v1)))
        }
        ("PaymentCaptured", 1) => {
            let v1: PaymentCapturedV1 = serde_json::from_slice(json).expect(parse_error);
            ShopEvent::Paid(PaymentCaptured::from(PaymentCapturedV2::from(v1)))
        }
        ("OrderShipped", 1) => {
            let v1: OrderShippedV1 = serde_json::from_slice(json).expect(parse_error);
            ShopEvent::Shipped(OrderShipped::from(OrderShippedV2::from(v1)))
        }
        other => panic!("the replayed log holds only v1 events, not {other:?}"),
    };
    totals.apply_event(&event);
}

pub(super) fn replays(scale: &Scale, schema: &BenchSchema, store: &PgStore) -> Vec<Row> {
    let mut client = schema.client();
    let select = schema
        .sql("SELECT event_type, schema_version, payload FROM {schema}.events ORDER BY position");
    let store_run = || {
        let mut totals = ShopTotals::default();
        let mut events = 0u64;
        let cpu = process_cpu_secs();
        let secs = seconds(|| {
            store
                .visit_all(1, &mut |stored| {
                    events += 1;
                    for event in &ShopEvent::decode_ref(stored).expect("benchmark events decode") {
                        totals.apply_event(event);
                    }
                    ControlFlow::Continue(())
                })
                .expect("the PostgreSQL log reads");
        });
        eprintln!(
            "   PgStore replay: {secs:.3} s, {:.2} s of CPU in this process",
            process_cpu_secs() - cpu
        );
        (secs, events, totals)
    };
    let mut bare_run = || {
        let mut totals = ShopTotals::default();
        let mut events = 0u64;
        let cpu = process_cpu_secs();
        let secs = seconds(|| {
            let mut rows = client
                .query_raw(&select, std::iter::empty::<i64>())
                .expect("run the bare SELECT");
            while let Some(row) = rows.next().expect("read a row") {
                let tag: &str = row.get(0);
                let version: i64 = row.get(1);
                let JsonSlice(payload) = row.get(2);
                events += 1;
                decode_typed(&mut totals, tag, version, payload);
            }
        });
        eprintln!(
            "   bare SELECT replay: {secs:.3} s, {:.2} s of CPU in this process",
            process_cpu_secs() - cpu
        );
        (secs, events, totals)
    };
    // One warm-up of each, then alternating timed runs; the median of each.
    let (_, _, warm_store) = store_run();
    let (_, _, warm_bare) = bare_run();
    assert_eq!(warm_store, warm_bare, "both replays fold the same events");
    let (mut store_secs, mut bare_secs) = (Vec::new(), Vec::new());
    for _ in 0..scale.runs {
        let (secs, events, totals) = store_run();
        assert_eq!((events, &totals), (scale.events, &warm_store));
        store_secs.push(secs);
        let (secs, events, totals) = bare_run();
        assert_eq!((events, &totals), (scale.events, &warm_store));
        bare_secs.push(secs);
    }
    vec![Row::ratio(
        &format!(
            "PostgreSQL replay of {} v1 events (read, decode, 2 typed upcasts, apply)",
            scale.events
        ),
        Figure::new(
            "PgStore visit_all + decode_ref",
            per_sec(scale.events, median(store_secs)),
            PER_SEC,
        ),
        Figure::new(
            "bare SELECT … ORDER BY position + serde_json",
            per_sec(scale.events, median(bare_secs)),
            PER_SEC,
        ),
        Some(Target::AtLeast(0.8)),
    )]
}

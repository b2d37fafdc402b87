//! `wait_for_append` across stores (as across processes) wakes on `LISTEN`/`NOTIFY`.

mod support;

use std::time::{Duration, Instant};

use es_core::Event;
use es_core::{EventStore, ExpectedVersion, NewEvent, StopHandle, Subscription, SubscriptionItem};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Pinged", version = 1)]
struct Pinged {
    n: u64,
}

#[test]
fn a_waiter_on_another_store_wakes_on_notify_not_on_its_recheck() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let writer = fixture.second_store();
    let reader = fixture.second_store();
    // Start the reader's LISTEN session and let it settle.
    assert_eq!(
        reader
            .wait_for_append(0, Duration::from_millis(300))
            .expect("wait"),
        0
    );
    std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            let started = Instant::now();
            let head = reader.wait_for_append(0, Duration::from_secs(30));
            (head, started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(50));
        writer
            .append(
                "s",
                ExpectedVersion::Any,
                vec![NewEvent::new("Pinged", 1, json!({ "n": 1 }))],
            )
            .expect("append");
        let (head, elapsed) = waiter.join().expect("waiter");
        assert_eq!(head.expect("wait"), 1);
        // Without the notification the waiter would look again only after 2 s.
        assert!(elapsed < Duration::from_secs(1), "woke after {elapsed:?}");
    });
}

#[test]
fn a_subscription_on_one_store_follows_appends_made_through_another() {
    let Some(fixture) = support::fixture() else {
        return;
    };
    let writer = fixture.second_store();
    let reader = fixture.second_store();
    let stop = StopHandle::new();
    std::thread::scope(|scope| {
        let subscriber = scope.spawn(|| {
            let mut seen = Vec::new();
            let subscription =
                Subscription::<Pinged, _>::from_start(&reader).with_stop_handle(stop.clone());
            for item in subscription {
                if let SubscriptionItem::Event(envelope) = item.expect("item") {
                    seen.push(envelope.event.n);
                    if seen.len() == 20 {
                        break;
                    }
                }
            }
            seen
        });
        for n in 0..20 {
            writer
                .append(
                    "s",
                    ExpectedVersion::Exact(n),
                    vec![NewEvent::encode(&Pinged { n }).expect("encode")],
                )
                .expect("append");
        }
        let seen = subscriber.join().expect("subscriber");
        assert_eq!(seen, (0..20).collect::<Vec<_>>());
    });
}

//! Arbitrary stored events decoded through the order domain's derived enum: typed upcaster
//! chains (`From` and `TryFrom`), a tag rename with an alias, raw upcasters that split an
//! event or read its envelope, and a removed tag.
//!
//! Input: see [`es_fuzz::stored_event`]. Never a panic; every decoded event encodes and
//! decodes back to itself; the payload parses as `serde_json::from_slice` parses it (the
//! decode point checks a text as UTF-8 once and parses it as a `str`).

#![no_main]

use es_core::{Envelope, Event, NewEvent, StoredEvent};
use es_fuzz::stored_event;
use es_tests::order::OrderEvent;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let stored = stored_event(data);
    assert_eq!(
        format!("{:?}", stored.payload_json()),
        format!(
            "{:?}",
            serde_json::from_slice::<serde_json::Value>(&stored.payload)
        ),
    );
    let _ = Envelope::<OrderEvent>::decode(&stored);
    let Ok(decoded) = OrderEvent::decode(&stored) else {
        return;
    };
    for event in decoded {
        let encoded = NewEvent::encode(&event).expect("a decoded event encodes");
        let again = StoredEvent {
            event_type: encoded.event_type().to_owned(),
            schema_version: encoded.schema_version(),
            payload: encoded.payload().to_vec(),
            ..stored.clone()
        };
        let round_trip = OrderEvent::decode(&again)
            .expect("an encoded event decodes")
            .into_vec();
        assert_eq!(round_trip, [event]);
    }
});

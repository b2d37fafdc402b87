//! The derive works when es-core is renamed in Cargo.toml (here `renamed_es`), given
//! `#[event(crate = "renamed_es")]` on each struct and enum. This crate does not know es-core
//! as `es_core`, so an expansion that named it would not compile.

use renamed_es::codec::RawEvent;
use renamed_es::{Event, StoredEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// v1: the amount was called `amt`.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(crate = "renamed_es", name = "Deposited", version = 1)]
pub struct DepositedV1 {
    /// The amount.
    pub amt: u64,
}

/// v2, current.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(crate = "renamed_es", name = "Deposited", version = 2, upcast_from = DepositedV1)]
pub struct Deposited {
    /// The amount.
    pub amount: u64,
}

impl From<DepositedV1> for Deposited {
    fn from(v1: DepositedV1) -> Self {
        Self { amount: v1.amt }
    }
}

/// A legacy double deposit is two deposits today.
///
/// # Errors
/// Never.
pub fn double_deposit(
    raw: RawEvent,
    _: &StoredEvent,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    Ok(vec![
        RawEvent::new("Deposited", 1, raw.payload.clone()),
        RawEvent::new("Deposited", 1, raw.payload),
    ])
}

/// The account's events.
#[derive(Debug, PartialEq, Event)]
#[event(crate = "renamed_es", removed("Audited"))]
#[event(raw_upcast(from = ("DoubleDeposit", 1), with = double_deposit))]
pub enum AccountEvent {
    /// Money came in.
    Deposited(Deposited),
}

#[cfg(test)]
#[test]
fn derive_with_a_renamed_es_core_decodes_every_kind_of_event() {
    use renamed_es::{EventStore, ExpectedVersion, MemoryStore, NewEvent};
    use serde_json::json;

    let store = MemoryStore::new();
    let events = vec![
        NewEvent::new("Deposited", 1, json!({ "amt": 5 })),
        NewEvent::new("Audited", 1, json!({})),
        NewEvent::new("DoubleDeposit", 1, json!({ "amt": 7 })),
    ];
    store
        .append("acc-1", ExpectedVersion::NoStream, events)
        .expect("append");
    let decoded: Vec<AccountEvent> = store
        .read_stream("acc-1", 1)
        .expect("read")
        .flat_map(|stored| AccountEvent::decode(&stored.expect("readable")).expect("decodes"))
        .collect();
    assert_eq!(
        decoded,
        [5, 7, 7].map(|amount| AccountEvent::Deposited(Deposited { amount }))
    );
}

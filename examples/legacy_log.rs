//! A bank log as several generations of code wrote it, interleaved across accounts: the
//! shared input of the read-model example and the projection tests.

use es_core::{AppendError, EventStore, ExpectedVersion, NewEvent};
use serde_json::json;

/// The log, oldest first: each stream id with the raw event older code appended.
///
/// | account | events | balance |
/// | --- | --- | --- |
/// | `acc-001` alice | `AccountCreated` v1 (100), withdraw 30, `FundsDeposited` v1 `amt` 50 | 120 EUR |
/// | `acc-002` bob | `AccountOpened` v2 (5), deposit v2 10 | 15 EUR |
/// | `acc-003` carol | `AccountOpened` v3 (70 GBP), withdraw 25 | 45 GBP |
/// | `acc-004` dave | `AccountCreated` v1 (40), `FundsDeposited` v1 `amt` 11 | 51 EUR |
#[must_use]
pub fn legacy_bank_log() -> Vec<(&'static str, NewEvent)> {
    vec![
        (
            "acc-001",
            NewEvent::new(
                "AccountCreated",
                1,
                json!({ "owner": "alice", "balance": 100 }),
            ),
        ),
        (
            "acc-002",
            NewEvent::new(
                "AccountOpened",
                2,
                json!({ "owner": "bob", "initial_deposit": 5 }),
            ),
        ),
        (
            "acc-001",
            NewEvent::new("FundsWithdrawn", 1, json!({ "amount": 30 })),
        ),
        (
            "acc-004",
            NewEvent::new(
                "AccountCreated",
                1,
                json!({ "owner": "dave", "balance": 40 }),
            ),
        ),
        (
            "acc-001",
            NewEvent::new("FundsDeposited", 1, json!({ "amt": 50 })),
        ),
        (
            "acc-003",
            NewEvent::new(
                "AccountOpened",
                3,
                json!({ "owner": "carol", "initial_deposit": 70, "currency": "GBP" }),
            ),
        ),
        (
            "acc-002",
            NewEvent::new("FundsDeposited", 2, json!({ "amount": 10 })),
        ),
        (
            "acc-004",
            NewEvent::new("FundsDeposited", 1, json!({ "amt": 11 })),
        ),
        (
            "acc-003",
            NewEvent::new("FundsWithdrawn", 1, json!({ "amount": 25 })),
        ),
    ]
}

/// Appends [`legacy_bank_log`] to `store`, one event per append, in order; returns the head
/// position after it.
///
/// # Errors
/// The store's [`AppendError`].
pub fn append_legacy_bank_log(store: &impl EventStore) -> Result<u64, AppendError> {
    let mut head = 0;
    for (stream_id, event) in legacy_bank_log() {
        head = store
            .append(stream_id, ExpectedVersion::Any, vec![event])?
            .last_position;
    }
    Ok(head)
}

//! Correlation and causation ids in event metadata: which request an event belongs to, and
//! which event caused it. An audit reads them back with
//! [`Repository::history`](crate::Repository::history).
//!
//! The ids are stored as JSON strings under [`CORRELATION_ID`] and [`CAUSATION_ID`], keys
//! every reader of the log can rely on; any other metadata sits beside them.
//!
//! # Examples
//! ```
//! use es_core::{Envelope, Event, EventStore, ExpectedVersion, MemoryStore, NewEvent};
//! use es_core::metadata::CORRELATION_ID;
//! # use schemars::JsonSchema;
//! # use serde::{Deserialize, Serialize};
//! use serde_json::{json, Value};
//!
//! #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
//! struct TransferRequested { amount: u64 }
//!
//! let store = MemoryStore::new();
//! let request = NewEvent::encode(&TransferRequested { amount: 30 })?.with_correlation_id("req-42");
//! store.append("transfer-1", ExpectedVersion::NoStream, vec![request])?;
//! let stored = store.read_stream("transfer-1", 1)?.next().unwrap()?;
//! let cause = Envelope::<TransferRequested>::decode(&stored)?.remove(0);
//!
//! // A reaction to that event carries the request's correlation id and names its cause.
//! let debit = NewEvent::new("FundsWithdrawn", 1, json!({ "amount": 30 })).caused_by(&cause);
//! assert_eq!(debit.correlation_id(), Some("req-42"));
//! assert_eq!(debit.causation_id(), Some(stored.event_id.to_string().as_str()));
//! assert_eq!(debit.metadata()[CORRELATION_ID], Value::from("req-42"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde_json::Value;

use crate::{Envelope, Metadata, NewEvent, StoredEvent};

/// Metadata key of the correlation id: shared by every event that one request (a command, a
/// message from outside) led to, directly or not.
pub const CORRELATION_ID: &str = "correlation_id";

/// Metadata key of the causation id: the id of the event (or command) that directly caused
/// this event.
pub const CAUSATION_ID: &str = "causation_id";

fn id_in<'a>(metadata: &'a Metadata, key: &str) -> Option<&'a str> {
    metadata.get(key).and_then(Value::as_str)
}

impl NewEvent {
    /// Sets the correlation id ([`CORRELATION_ID`]).
    #[must_use]
    pub fn with_correlation_id(self, id: impl Into<String>) -> Self {
        self.with_metadata(CORRELATION_ID, Value::String(id.into()))
    }

    /// Sets the causation id ([`CAUSATION_ID`]).
    #[must_use]
    pub fn with_causation_id(self, id: impl Into<String>) -> Self {
        self.with_metadata(CAUSATION_ID, Value::String(id.into()))
    }

    /// Marks this event as caused by `cause`: its causation id is `cause`'s event id, and its
    /// correlation id is `cause`'s (or, when `cause` has none, `cause`'s event id, which then
    /// starts the chain).
    #[must_use]
    pub fn caused_by<E>(self, cause: &Envelope<E>) -> Self {
        let cause_id = cause.event_id.to_string();
        let correlation = cause
            .correlation_id()
            .map_or_else(|| cause_id.clone(), str::to_owned);
        self.with_correlation_id(correlation)
            .with_causation_id(cause_id)
    }
}

/// Implements `correlation_id` and `causation_id` for each type, reading `$metadata` (an
/// expression of `$this`, the receiver).
macro_rules! id_getters {
    ($(impl$(<$param:ident>)? for $ty:ty => |$this:ident| $metadata:expr;)*) => {$(
        impl$(<$param>)? $ty {
            /// The correlation id ([`CORRELATION_ID`]), if set.
            #[must_use]
            pub fn correlation_id(&self) -> Option<&str> {
                let $this = self;
                id_in($metadata, CORRELATION_ID)
            }

            /// The causation id ([`CAUSATION_ID`]), if set.
            #[must_use]
            pub fn causation_id(&self) -> Option<&str> {
                let $this = self;
                id_in($metadata, CAUSATION_ID)
            }
        }
    )*};
}

id_getters! {
    impl for NewEvent => |event| event.metadata();
    impl for StoredEvent => |event| &event.metadata;
    impl<E> for Envelope<E> => |envelope| &envelope.metadata;
}

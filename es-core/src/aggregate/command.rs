//! [`CommandOptions`] and [`Repository::execute_with`]: what a service needs around one
//! command — an idempotency key, metadata, and retries when another writer came first.

use serde_json::{Map, Value};
use uuid::Uuid;

use super::repository::{Aggregate, ExecuteError, Executed, Repository};
use crate::event::metadata::{CAUSATION_ID, CORRELATION_ID};
use crate::{AppendError, EventStore};

/// The UUID v5 namespace of event ids derived from idempotency keys. Fixed forever: changing
/// it would make a retried request look new.
const IDEMPOTENCY_NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_3c2e_58d4_4b7a_9e0c_2f81_d5b6_7c43);

/// How [`Repository::execute_with`] runs one command.
///
/// # Examples
/// ```
/// use es_core::CommandOptions;
///
/// // An HTTP request's `Idempotency-Key` and `X-Request-Id`, and up to 3 retries after a
/// // concurrent write.
/// let options = CommandOptions::new()
///     .idempotency_key("4f1c-deposit-7")
///     .correlation_id("req-123")
///     .retry_conflicts(3);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Default)]
pub struct CommandOptions {
    idempotency_key: Option<String>,
    metadata: Map<String, Value>,
    conflict_retries: u32,
}

impl CommandOptions {
    /// No key, no metadata, no retries: what [`Repository::execute`] does.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the command idempotent: its events get ids derived from the stream id, `key` and
    /// their index (UUID v5), so the same command sent again with the same key (a client
    /// retrying after a lost response, on this instance or another) writes nothing the second
    /// time and reports [`Executed::replayed`]. Keys are scoped to their stream.
    #[must_use]
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Writes `id` as [`CORRELATION_ID`](crate::metadata::CORRELATION_ID) with every event.
    #[must_use]
    pub fn correlation_id(self, id: impl Into<String>) -> Self {
        self.metadata(CORRELATION_ID, Value::String(id.into()))
    }

    /// Writes `id` as [`CAUSATION_ID`](crate::metadata::CAUSATION_ID) with every event.
    #[must_use]
    pub fn causation_id(self, id: impl Into<String>) -> Self {
        self.metadata(CAUSATION_ID, Value::String(id.into()))
    }

    /// Writes `key: value` into the metadata of every event.
    #[must_use]
    pub fn metadata(mut self, key: impl Into<String>, value: Value) -> Self {
        self.metadata.insert(key.into(), value);
        self
    }

    /// When another writer appended to the stream between the load and the append
    /// ([`ExecuteError::Conflict`]), loads again and lets the aggregate decide again, up to
    /// `attempts` more times; then reports the conflict. Default 0.
    #[must_use]
    pub fn retry_conflicts(mut self, attempts: u32) -> Self {
        self.conflict_retries = attempts;
        self
    }

    /// The id of the command's `index`-th event, when it has an idempotency key.
    fn event_id(&self, stream_id: &str, index: usize) -> Option<Uuid> {
        let key = self.idempotency_key.as_deref()?;
        // Lengths first, so no (stream, key) pair can be spelled like another.
        let name = format!("{}:{stream_id}{}:{key}{index}", stream_id.len(), key.len());
        Some(Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, name.as_bytes()))
    }
}

impl<A: Aggregate, S: EventStore> Repository<A, S> {
    /// [`execute`](Self::execute) with [`CommandOptions`]: an idempotency key, metadata, and
    /// retries after conflicts.
    ///
    /// With an idempotency key, a command whose events are already in the stream is not
    /// decided again: the result has [`Executed::replayed`] set, nothing is appended, and the
    /// state is the current one — even when deciding again would now be refused (a
    /// withdrawal retried after it emptied the account).
    ///
    /// # Errors
    /// As [`execute`](Self::execute); [`ExecuteError::Conflict`] only once the retries are
    /// used up.
    ///
    /// # Examples
    /// ```
    /// use es_core::{Aggregate, CommandOptions, Event, MemoryStore, Repository};
    /// # use schemars::JsonSchema;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    /// # struct Deposited { amount: u64 }
    /// # #[derive(Default)]
    /// # struct Account { balance: u64 }
    /// # impl Aggregate for Account {
    /// #     type Event = Deposited;
    /// #     type Command = u64;
    /// #     type Error = std::convert::Infallible;
    /// #     fn handle(&self, amount: u64) -> Result<Vec<Deposited>, Self::Error> {
    /// #         Ok(vec![Deposited { amount }])
    /// #     }
    /// #     fn apply(&mut self, e: &Deposited) { self.balance += e.amount; }
    /// # }
    /// let repo = Repository::<Account, _>::new(MemoryStore::new());
    /// let options = CommandOptions::new().idempotency_key("req-1").retry_conflicts(3);
    /// let first = repo.execute_with("acc-1", 50, &options)?;
    /// // The response was lost; the client sends the same request again.
    /// let again = repo.execute_with("acc-1", 50, &options)?;
    /// assert!(!first.replayed && again.replayed);
    /// assert_eq!((again.state.balance, again.version), (50, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn execute_with(
        &self,
        stream_id: &str,
        command: A::Command,
        options: &CommandOptions,
    ) -> Result<Executed<A>, ExecuteError<A::Error>>
    where
        A::Command: Clone,
    {
        let marker = options.event_id(stream_id, 0);
        let mut retries = options.conflict_retries;
        loop {
            let (loaded, seen) = self
                .load_watching(stream_id, marker)
                .map_err(ExecuteError::Load)?;
            if seen {
                return Ok(replayed(loaded));
            }
            let result = self.decide_and_append(
                stream_id,
                loaded,
                command.clone(),
                &options.metadata,
                |index| options.event_id(stream_id, index),
            );
            match result {
                Err(ExecuteError::Conflict { .. }) if retries > 0 => retries -= 1,
                // The load started from a snapshot that may hold the command's events.
                Err(ExecuteError::Rejected(error)) => match marker {
                    Some(id) if self.keeps_snapshots() => {
                        if self
                            .stream_holds(stream_id, id)
                            .map_err(|e| ExecuteError::Load(e.into()))?
                        {
                            return self
                                .load(stream_id)
                                .map(replayed)
                                .map_err(ExecuteError::Load);
                        }
                        return Err(ExecuteError::Rejected(error));
                    }
                    _ => return Err(ExecuteError::Rejected(error)),
                },
                // The command's first event is stored in this stream: executed before.
                Err(ExecuteError::Append(AppendError::DuplicateEventId {
                    event_id,
                    stream_id: holder,
                    ..
                })) if Some(event_id) == marker && holder == stream_id => {
                    return self
                        .load(stream_id)
                        .map(replayed)
                        .map_err(ExecuteError::Load);
                }
                other => return other,
            }
        }
    }
}

/// The result of a command found already executed.
fn replayed<A: Aggregate>(loaded: super::repository::Loaded<A>) -> Executed<A> {
    Executed {
        state: loaded.state,
        version: loaded.version,
        events: Vec::new(),
        replayed: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_differ_by_stream_key_and_index() {
        let options = CommandOptions::new().idempotency_key("k-1");
        let id = options.event_id("acc-1", 0);
        assert_eq!(
            id,
            CommandOptions::new()
                .idempotency_key("k-1")
                .event_id("acc-1", 0)
        );
        assert_ne!(id, options.event_id("acc-1", 1));
        assert_ne!(id, options.event_id("acc-2", 0));
        assert_ne!(
            id,
            CommandOptions::new()
                .idempotency_key("k-2")
                .event_id("acc-1", 0)
        );
        // Pinned: a different derivation would make retries of stored requests look new.
        assert_eq!(
            id.map(|id| id.to_string()).as_deref(),
            Some(
                Uuid::new_v5(&IDEMPOTENCY_NAMESPACE, b"5:acc-13:k-10")
                    .to_string()
                    .as_str()
            )
        );
        assert_eq!(CommandOptions::new().event_id("acc-1", 0), None);
    }

    #[test]
    fn lengths_keep_stream_and_key_apart() {
        let a = CommandOptions::new().idempotency_key("b").event_id("a:", 0);
        let b = CommandOptions::new().idempotency_key(":b").event_id("a", 0);
        assert_ne!(a, b);
    }
}

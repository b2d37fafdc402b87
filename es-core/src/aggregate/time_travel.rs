//! Looking back at a stream without changing it: its state as of a global position or a
//! moment, its state had some events not happened, and its audit trail.
//!
//! Every method here only reads, through [`Event::decode`](crate::Event::decode) like every other read path; the
//! log is never touched. [`Repository::load_at`] (as of a stream version) sits with the other
//! loads.

use std::ops::Deref;
use std::time::SystemTime;

use super::repository::apply_stored;
use crate::{Aggregate, Envelope, Event, EventStore, LoadError, Loaded, Repository, StoredEvent};

/// A stream's state replayed with some of its events left out: the answer to "what if these
/// had not happened?". From [`Repository::what_if`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct WhatIf<A> {
    /// The alternative state.
    pub state: A,
    /// The stream version replayed through (the stream's current version): the alternative
    /// state stands beside the real one at this version.
    pub version: u64,
    /// The stream versions left out, ascending; empty when the predicate matched nothing.
    pub skipped: Vec<u64>,
}

/// One event of a stream's audit trail, from [`Repository::history`]: the event decoded into
/// today's type, in its [`Envelope`] (position, stream version, id, time, metadata), beside
/// the type tag and schema version it is stored with, so an audit can say "stored as
/// `TodoCreated` v1".
///
/// It dereferences to its envelope: `entry.event`, `entry.recorded_at` and
/// `entry.correlation_id()` read the envelope's.
///
/// # Examples
/// ```
/// # use es_core::{Aggregate, Event, EventStore, ExpectedVersion, MemoryStore, NewEvent, Repository};
/// # use schemars::JsonSchema;
/// # use serde::{Deserialize, Serialize};
/// # #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
/// # #[event(name = "Added", version = 1)]
/// # struct AddedV1 { n: u32 }
/// #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
/// #[event(name = "Added", version = 2, upcast_from = AddedV1)]
/// struct Added { n: u64 }
/// # impl From<AddedV1> for Added { fn from(v1: AddedV1) -> Self { Self { n: v1.n.into() } } }
/// # #[derive(Default)]
/// # struct Sum(u64);
/// # impl Aggregate for Sum {
/// #     type Event = Added; type Command = u64; type Error = std::convert::Infallible;
/// #     fn handle(&self, n: u64) -> Result<Vec<Added>, Self::Error> { Ok(vec![Added { n }]) }
/// #     fn apply(&mut self, e: &Added) { self.0 += e.n; }
/// # }
///
/// let store = MemoryStore::new();
/// let legacy = NewEvent::new("Added", 1, serde_json::json!({ "n": 7 }));
/// store.append("a", ExpectedVersion::NoStream, vec![legacy])?;
/// let repo = Repository::<Sum, _>::new(store);
/// repo.execute("a", 5)?;
///
/// let audit: Vec<String> = repo
///     .history("a")?
///     .iter()
///     .map(|entry| format!("{} = {:?}, stored as {}", entry.stream_version, entry.event, entry.stored_as()))
///     .collect();
/// assert_eq!(audit, ["1 = Added { n: 7 }, stored as Added v1", "2 = Added { n: 5 }, stored as Added v2"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HistoryEntry<E> {
    /// The decoded event and what the store recorded about it.
    pub envelope: Envelope<E>,
    /// The type tag the event is stored with, before any upcasting.
    pub stored_type: String,
    /// The schema version the event is stored with, before any upcasting.
    pub stored_version: u32,
}

impl<E> HistoryEntry<E> {
    /// The stored tag and version as people read them: `TodoCreated v1`.
    #[must_use]
    pub fn stored_as(&self) -> String {
        format!("{} v{}", self.stored_type, self.stored_version)
    }

    /// The envelope, without the stored tag and version.
    #[must_use]
    pub fn into_envelope(self) -> Envelope<E> {
        self.envelope
    }
}

impl<E: Event> HistoryEntry<E> {
    /// Whether the stored event was upcast (or renamed) on its way to today's type: its
    /// stored tag or version differs from the decoded event's.
    #[must_use]
    pub fn was_upcast(&self) -> bool {
        (self.stored_type.as_str(), self.stored_version)
            != (
                self.envelope.event.event_type(),
                self.envelope.event.event_version(),
            )
    }
}

impl<E> Deref for HistoryEntry<E> {
    type Target = Envelope<E>;

    fn deref(&self) -> &Envelope<E> {
        &self.envelope
    }
}

/// What a replay does with one stored event.
enum Step {
    Apply,
    Skip,
    Stop,
}

impl<A: Aggregate, S: EventStore> Repository<A, S> {
    /// Time travel by global position: the state after every event of the stream stored at
    /// or before `position` (as a projection checkpointed at `position` saw it). The
    /// returned `version` is the last stream version applied, 0 if none.
    ///
    /// # Errors
    /// [`LoadError`] when the stream cannot be read or an event does not decode.
    ///
    /// # Examples
    /// ```
    /// # use es_core::{Aggregate, Event, EventStore, ExpectedVersion, MemoryStore, NewEvent, Repository};
    /// # use schemars::JsonSchema;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    /// # struct Added { n: u32 }
    /// # #[derive(Default)]
    /// # struct Sum(u32);
    /// # impl Aggregate for Sum {
    /// #     type Event = Added; type Command = u32; type Error = std::convert::Infallible;
    /// #     fn handle(&self, n: u32) -> Result<Vec<Added>, Self::Error> { Ok(vec![Added { n }]) }
    /// #     fn apply(&mut self, e: &Added) { self.0 += e.n; }
    /// # }
    /// let repo = Repository::<Sum, _>::new(MemoryStore::new());
    /// repo.execute("a", 1)?;  // position 1
    /// repo.execute("b", 10)?; // position 2, another stream
    /// repo.execute("a", 2)?;  // position 3
    /// let then = repo.load_as_of_position("a", 2)?;
    /// assert_eq!((then.state.0, then.version), (1, 1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_as_of_position(
        &self,
        stream_id: &str,
        position: u64,
    ) -> Result<Loaded<A>, LoadError> {
        self.replay_until(stream_id, |stored| stored.position > position)
    }

    /// Time travel by wall-clock time: the state after the events the store recorded at or
    /// before `time` (their `recorded_at`).
    ///
    /// The log's order is authoritative: the replay stops at the first event recorded after
    /// `time`, so should the store's clock ever have stepped back, later events are not
    /// picked out of order.
    ///
    /// # Errors
    /// [`LoadError`] when the stream cannot be read or an event does not decode.
    pub fn load_as_of_time(
        &self,
        stream_id: &str,
        time: SystemTime,
    ) -> Result<Loaded<A>, LoadError> {
        self.replay_until(stream_id, |stored| stored.recorded_at > time)
    }

    /// What-if: replays the whole stream, leaving out every event for which `skip` returns
    /// true (choose them by stream version, event id, stored type tag, metadata...), and
    /// returns the alternative state. To choose events by what they decode into (today's
    /// type, whatever tag and version they are stored with), use
    /// [`what_if_decoded`](Self::what_if_decoded). Nothing is written: the log and the real state are unchanged.
    ///
    /// The aggregate's `apply` sees the remaining events as if the skipped ones never
    /// happened; an `apply` that assumes an invariant the missing event established (a
    /// withdrawal without its deposit) sees exactly that, which is often the question.
    ///
    /// # Errors
    /// [`LoadError`] when the stream cannot be read or an event that is not skipped does not
    /// decode (skipped events are not decoded).
    ///
    /// # Examples
    /// ```
    /// # use es_core::{Aggregate, Event, EventStore, ExpectedVersion, MemoryStore, NewEvent, Repository};
    /// # use schemars::JsonSchema;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    /// # struct Added { n: u32 }
    /// # #[derive(Default)]
    /// # struct Sum(u32);
    /// # impl Aggregate for Sum {
    /// #     type Event = Added; type Command = u32; type Error = std::convert::Infallible;
    /// #     fn handle(&self, n: u32) -> Result<Vec<Added>, Self::Error> { Ok(vec![Added { n }]) }
    /// #     fn apply(&mut self, e: &Added) { self.0 += e.n; }
    /// # }
    /// let repo = Repository::<Sum, _>::new(MemoryStore::new());
    /// for n in [1, 20, 300] {
    ///     repo.execute("a", n)?;
    /// }
    /// let without_second = repo.what_if("a", |stored| stored.stream_version == 2)?;
    /// assert_eq!((without_second.state.0, without_second.skipped), (301, vec![2]));
    /// assert_eq!(repo.load("a")?.state.0, 321, "the log is untouched");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn what_if(
        &self,
        stream_id: &str,
        mut skip: impl FnMut(&StoredEvent) -> bool,
    ) -> Result<WhatIf<A>, LoadError> {
        let (loaded, skipped) = self.replay(stream_id, |stored| {
            if skip(stored) {
                Step::Skip
            } else {
                Step::Apply
            }
        })?;
        Ok(WhatIf {
            state: loaded.state,
            version: loaded.version,
            skipped,
        })
    }

    /// What-if by decoded event: replays the whole stream, leaving out every decoded event for
    /// which `skip` returns true, and returns the alternative state. Events are chosen by
    /// today's type, so `|e| matches!(e, TodoEvent::Completed(_))` also leaves out events
    /// stored under an older version or an old tag that upcast into `Completed`. Nothing is
    /// written.
    ///
    /// `skipped` lists the stream versions of the stored events of which at least one decoded
    /// event was left out (an event an upcaster split into several may be left out in part).
    ///
    /// # Errors
    /// [`LoadError`] when the stream cannot be read or an event does not decode (every event
    /// is decoded, since `skip` looks at the decoded event).
    ///
    /// # Examples
    /// ```
    /// # use es_core::{Aggregate, Event, EventStore, ExpectedVersion, MemoryStore, NewEvent, Repository};
    /// # use schemars::JsonSchema;
    /// # use serde::{Deserialize, Serialize};
    /// # #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    /// # struct Added { n: u32 }
    /// # #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    /// # struct Doubled {}
    /// #[derive(Debug, Event)]
    /// enum SumEvent { Added(Added), Doubled(Doubled) }
    /// # #[derive(Default)]
    /// # struct Sum(u32);
    /// # impl Aggregate for Sum {
    /// #     type Event = SumEvent; type Command = SumEvent; type Error = std::convert::Infallible;
    /// #     fn handle(&self, e: SumEvent) -> Result<Vec<SumEvent>, Self::Error> { Ok(vec![e]) }
    /// #     fn apply(&mut self, e: &SumEvent) {
    /// #         match e { SumEvent::Added(a) => self.0 += a.n, SumEvent::Doubled(_) => self.0 *= 2 }
    /// #     }
    /// # }
    /// let repo = Repository::<Sum, _>::new(MemoryStore::new());
    /// repo.execute("a", SumEvent::Added(Added { n: 1 }))?;
    /// repo.execute("a", SumEvent::Doubled(Doubled {}))?;
    /// repo.execute("a", SumEvent::Added(Added { n: 3 }))?;
    /// let never_doubled = repo.what_if_decoded("a", |e| matches!(e, SumEvent::Doubled(_)))?;
    /// assert_eq!((never_doubled.state.0, never_doubled.skipped), (4, vec![2]));
    /// assert_eq!(repo.load("a")?.state.0, 5, "the log is untouched");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn what_if_decoded(
        &self,
        stream_id: &str,
        mut skip: impl FnMut(&A::Event) -> bool,
    ) -> Result<WhatIf<A>, LoadError> {
        let mut what_if = WhatIf {
            state: A::default(),
            version: 0,
            skipped: Vec::new(),
        };
        for stored in self.store().read_stream(stream_id, 1)? {
            let stored = stored?;
            let mut left_out = false;
            for event in &A::Event::decode(&stored)? {
                if skip(event) {
                    left_out = true;
                } else {
                    what_if.state.apply(event);
                }
            }
            if left_out {
                what_if.skipped.push(stored.stream_version);
            }
            what_if.version = stored.stream_version;
        }
        Ok(what_if)
    }

    /// Audit: every event of the stream in order, decoded into today's types, each with what
    /// the store recorded about it (position, stream version, event id, when it was recorded,
    /// its metadata: see [`Envelope::correlation_id`] and [`Envelope::causation_id`]) and the
    /// type tag and schema version it is stored with ([`HistoryEntry::stored_as`]).
    ///
    /// A stored event that decodes into several events (a split) gives an entry for each,
    /// with the same stored tag and version; an event of a tag removed on purpose gives none.
    ///
    /// # Errors
    /// [`LoadError`] when the stream cannot be read or an event does not decode.
    pub fn history(&self, stream_id: &str) -> Result<Vec<HistoryEntry<A::Event>>, LoadError> {
        let mut history = Vec::new();
        for stored in self.store().read_stream(stream_id, 1)? {
            let stored = stored?;
            history.extend(
                Envelope::<A::Event>::decode(&stored)?
                    .into_iter()
                    .map(|envelope| HistoryEntry {
                        envelope,
                        stored_type: stored.event_type.clone(),
                        stored_version: stored.schema_version,
                    }),
            );
        }
        Ok(history)
    }

    /// Replays the stream's events up to the first one for which `past` is true.
    fn replay_until(
        &self,
        stream_id: &str,
        past: impl Fn(&StoredEvent) -> bool,
    ) -> Result<Loaded<A>, LoadError> {
        let (loaded, _) = self.replay(stream_id, |stored| {
            if past(stored) {
                Step::Stop
            } else {
                Step::Apply
            }
        })?;
        Ok(loaded)
    }

    /// Replays the stream, asking `step` what to do with each stored event; returns the state
    /// (whose `version` is the last version read, applied or skipped) and the versions
    /// skipped.
    fn replay(
        &self,
        stream_id: &str,
        mut step: impl FnMut(&StoredEvent) -> Step,
    ) -> Result<(Loaded<A>, Vec<u64>), LoadError> {
        let mut loaded = Loaded {
            state: A::default(),
            version: 0,
        };
        let mut skipped = Vec::new();
        for stored in self.store().read_stream(stream_id, 1)? {
            let stored = stored?;
            match step(&stored) {
                Step::Stop => break,
                Step::Skip => {
                    skipped.push(stored.stream_version);
                    loaded.version = stored.stream_version;
                }
                Step::Apply => apply_stored(&mut loaded, &stored)?,
            }
        }
        Ok((loaded, skipped))
    }
}

//! Raw upcasting: a stored event as JSON ([`RawEvent`], [`JsonPayload`], [`RawPayload`]) and
//! the enum-level [`RawUpcaster`] (or [`RawRefUpcaster`], lent the stored event) that rewrites
//! it before typed decoding.

use std::cell::{Cell, OnceCell};
use std::fmt;
use std::ops::{Deref, DerefMut};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::stored_event::KEPT_PAYLOAD;
use crate::{StoredEvent, StoredEventRef, UpcastError};

/// A stored event as a [`RawUpcaster`] reads and writes it: type tag, schema version, and the
/// payload as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    /// The event type (the stored name of the type).
    pub event_type: String,
    /// The schema version of the payload, as on [`StoredEvent`] and
    /// [`NewEvent`](crate::NewEvent).
    pub schema_version: u32,
    /// The payload: the stored JSON text until it is read, then a JSON value.
    pub payload: JsonPayload,
}

/// The payload of a [`RawEvent`]: JSON that a raw upcaster reads and changes as a
/// [`serde_json::Value`], kept as the stored text for as long as nobody looks into it.
///
/// - Passed on unchanged (a rename, or one output of a split), it is never turned into a
///   value: the output's text is parsed straight into the struct of its version, as a stored
///   event of that version would be.
/// - Read through [`Deref`] (`payload["amount"]`, `payload.as_object()`, any method of
///   `Value`), the text is parsed into a value once; the text stays what is passed on.
/// - Changed through [`DerefMut`] (`payload["currency"] = json!("EUR")`, `as_object_mut()`,
///   `take()`), it becomes that value.
/// - [`parse`](Self::parse) deserializes a struct straight from the text, without a value in
///   between: the fastest way for an upcaster to read an old version's struct (it takes the
///   payload; `T::deserialize(&*payload)` reads it as a value and keeps it).
///
/// When the stored text is not JSON, it reads as `null`; the decode point then reports the
/// stored event's payload as malformed JSON (`DecodeErrorKind::MalformedJson`), whatever the
/// upcaster returned.
///
/// # Examples
/// ```
/// use es_core::JsonPayload;
/// use serde_json::json;
///
/// let mut payload = JsonPayload::from(json!({ "amount": 30 }));
/// assert_eq!(payload["amount"], 30);
/// payload["fee"] = json!(1);
/// assert_eq!(payload, json!({ "amount": 30, "fee": 1 }));
/// assert_eq!(payload.into_value(), json!({ "amount": 30, "fee": 1 }));
/// ```
#[derive(Clone)]
pub struct JsonPayload(Repr);

#[derive(Clone)]
enum Repr {
    /// Stored text, and its value once something read it.
    Text {
        text: Vec<u8>,
        value: OnceCell<Value>,
    },
    Value(Value),
}

/// What a raw upcaster did with the stored text of its payload, as far as the decode point
/// needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum TextRead {
    /// Not parsed.
    Untouched,
    /// Parsed whole: it is JSON.
    Valid,
    /// Parsed, and it is not JSON.
    Malformed,
}

thread_local! {
    /// A text buffer for the next stored text.
    static SPARE_TEXT: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
    /// What was learned of the stored texts read through [`JsonPayload`] while the decode
    /// point watches a raw upcaster ([`JsonPayload::watch_stored_text`]).
    static TEXT_READ: Cell<TextRead> = const { Cell::new(TextRead::Untouched) };
}

/// Notes what reading a stored text showed.
fn note(read: TextRead) {
    TEXT_READ.with(|seen| seen.set(seen.get().max(read)));
}

impl JsonPayload {
    /// The stored text of a payload, not parsed yet, in the buffer the thread's last
    /// [`recycle`](Self::recycle)d payload gave back.
    pub(crate) fn from_stored_text(stored: &[u8]) -> Self {
        let mut text = SPARE_TEXT.take();
        text.clear();
        text.extend_from_slice(stored);
        Self(Repr::Text {
            text,
            value: OnceCell::new(),
        })
    }

    /// Drops the payload, keeping a text buffer for the thread's next stored text.
    pub(crate) fn recycle(self) {
        if let Repr::Text { text, .. } = self.0 {
            if text.capacity() <= KEPT_PAYLOAD {
                SPARE_TEXT.set(text);
            }
        }
    }

    /// The stored text, when the payload is still that text (it was not changed).
    pub(crate) fn stored_text(&self) -> Option<&[u8]> {
        match &self.0 {
            Repr::Text { text, .. } => Some(text),
            Repr::Value(_) => None,
        }
    }

    /// Runs `f`, and says what it learned of the stored text it was given (on this thread; a
    /// decode nested in `f` keeps its own answer).
    pub(crate) fn watch_stored_text<T>(f: impl FnOnce() -> T) -> (T, TextRead) {
        let outer = TEXT_READ.with(|seen| seen.replace(TextRead::Untouched));
        let result = f();
        let read = TEXT_READ.with(|seen| seen.replace(outer));
        (result, read)
    }

    /// The payload as a JSON value.
    #[must_use]
    pub fn into_value(self) -> Value {
        match self.0 {
            Repr::Text { text, value } => value.into_inner().unwrap_or_else(|| parse_text(&text)),
            Repr::Value(value) => value,
        }
    }

    /// Deserializes the payload into `T`: straight from the stored text when it is unchanged,
    /// else by moving the value's parts into `T` (as [`serde_json::from_value`]).
    ///
    /// # Errors
    /// When the payload is not JSON, or not a `T`.
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, serde_json::Error> {
        match self.0 {
            Repr::Text { text, .. } => {
                let parsed = from_json_text(&text);
                match &parsed {
                    Ok(_) => note(TextRead::Valid),
                    Err(e) if e.is_syntax() || e.is_eof() => note(TextRead::Malformed),
                    // JSON of another shape, perhaps not whole: nothing learned.
                    Err(_) => {}
                }
                parsed
            }
            Repr::Value(value) => serde_json::from_value(value),
        }
    }
}

/// The value of a stored text; `null` when it is not JSON (which is noted).
fn parse_text(text: &[u8]) -> Value {
    if let Ok(value) = from_json_text(text) {
        note(TextRead::Valid);
        value
    } else {
        note(TextRead::Malformed);
        Value::Null
    }
}

impl From<Value> for JsonPayload {
    fn from(value: Value) -> Self {
        Self(Repr::Value(value))
    }
}

impl Deref for JsonPayload {
    type Target = Value;

    fn deref(&self) -> &Value {
        match &self.0 {
            Repr::Text { text, value } => value.get_or_init(|| parse_text(text)),
            Repr::Value(value) => value,
        }
    }
}

impl DerefMut for JsonPayload {
    fn deref_mut(&mut self) -> &mut Value {
        if let Repr::Text { text, value } = &mut self.0 {
            let value = value.take().unwrap_or_else(|| parse_text(text));
            self.0 = Repr::Value(value);
        }
        match &mut self.0 {
            Repr::Value(value) => value,
            // Made a value just above.
            Repr::Text { .. } => unreachable!("a changed payload is a value"),
        }
    }
}

impl fmt::Debug for JsonPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl PartialEq for JsonPayload {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl PartialEq<Value> for JsonPayload {
    fn eq(&self, other: &Value) -> bool {
        **self == *other
    }
}

impl Serialize for JsonPayload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonPayload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Self::from)
    }
}

impl RawEvent {
    /// A raw event of `event_type` at `schema_version`; `payload` is a [`serde_json::Value`]
    /// or another raw event's [`JsonPayload`], passed on.
    #[must_use]
    pub fn new(
        event_type: impl Into<String>,
        schema_version: u32,
        payload: impl Into<JsonPayload>,
    ) -> Self {
        Self {
            event_type: event_type.into(),
            schema_version,
            payload: payload.into(),
        }
    }
}

/// An enum-level upcaster on the JSON form, registered for one stored `(tag, version)` with
/// `#[event(raw_upcast(from = ("Tag", n), with = path::to::function))]`.
///
/// It receives the stored event as a [`RawEvent`] together with the whole [`StoredEvent`]
/// (stream id, stream version, position, recorded-at and metadata, for a change that needs
/// them), and returns the events it becomes, in order: one to rename or restructure, several
/// to split, none to drop. Each output decodes through the enum's typed chains, so it may
/// name any tag and version a variant's chain decodes, old or current; an output that passes
/// the input's [`JsonPayload`] on unchanged is parsed from the stored text
/// ([`RawPayload::Json`]), one that made or changed a value from that value
/// ([`RawPayload::Value`]). An output that is itself a raw upcaster's input or a removed tag is an error
/// ([`DecodeErrorKind::RawUpcastReentry`](crate::DecodeErrorKind::RawUpcastReentry)): raw
/// upcasters never run on each other's output, so they cannot loop.
///
/// An `Err` becomes [`DecodeErrorKind::UpcastFailed`](crate::DecodeErrorKind::UpcastFailed),
/// placed at the stored event. When an output does not fit its version's struct, the upcaster
/// runs once more on the same stored event, to name the field that does not fit
/// ([`DecodeError::field`](crate::DecodeError::field)): write it as a pure function of its
/// arguments. Raw upcasters run only for their own `(tag, version)`: events of other tags and
/// versions never reach them, and never pay for a JSON value.
///
/// # Examples
/// ```
/// use es_core::RawEvent;
/// use es_core::{Event, EventStore, ExpectedVersion, MemoryStore, NewEvent, StoredEvent};
/// # use schemars::JsonSchema;
/// # use serde::{Deserialize, Serialize};
/// use serde_json::json;
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
/// #[event(name = "Withdrawn", version = 1)]
/// struct Withdrawn { amount: u64 }
///
/// /// A transfer of 2018 was a withdrawal plus a fee: two withdrawals today.
/// fn split_transfer(
///     raw: RawEvent,
///     _stored: &StoredEvent,
/// ) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
///     let amount = raw.payload["amount"].clone();
///     let fee = raw.payload["fee"].clone();
///     Ok(vec![
///         RawEvent::new("Withdrawn", 1, json!({ "amount": amount })),
///         RawEvent::new("Withdrawn", 1, json!({ "amount": fee })),
///     ])
/// }
///
/// #[derive(Debug, PartialEq, Event)]
/// #[event(raw_upcast(from = ("TransferMade", 1), with = split_transfer))]
/// enum AccountEvent { Withdrawn(Withdrawn) }
///
/// let store = MemoryStore::new();
/// let legacy = NewEvent::new("TransferMade", 1, json!({ "amount": 30, "fee": 1 }));
/// store.append("acc-1", ExpectedVersion::NoStream, vec![legacy])?;
/// let stored = store.read_stream("acc-1", 1)?.next().unwrap()?;
/// assert_eq!(
///     AccountEvent::decode(&stored)?.into_vec(),
///     [
///         AccountEvent::Withdrawn(Withdrawn { amount: 30 }),
///         AccountEvent::Withdrawn(Withdrawn { amount: 1 }),
///     ]
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type RawUpcaster =
    fn(RawEvent, &StoredEvent) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>>;

/// A [`RawUpcaster`] that is lent the stored event ([`StoredEventRef`]) instead of given an
/// owned [`StoredEvent`], registered with
/// `#[event(raw_upcast(from = ("Tag", n), with_ref = path::to::function))]`.
///
/// Everything else is as for a [`RawUpcaster`]: the same input, outputs, errors and rerun to
/// name a field. What differs is the cost on the borrowed decode path
/// ([`Event::decode_ref`](crate::Event::decode_ref): replays, projections, `ParallelReplay`):
/// a [`RawUpcaster`] needs an owned copy of each stored event of its `(tag, version)`, with
/// its stream id, payload and metadata, made before it runs; this one reads them where the
/// store lends them. Prefer it unless the upcaster needs a [`StoredEvent`] to pass on.
///
/// One consequence: the metadata is not checked on the way, as on the typed path. Making a
/// [`RawUpcaster`]'s owned copy checks it, so a hand-made [`StoredEventRef`] whose metadata
/// is not a JSON object's text fails there as malformed JSON, where this upcaster runs (and
/// gets the error from [`StoredEventRef::metadata`] if it asks). Events a store lends always
/// carry an object: stores check metadata when they accept it.
///
/// # Examples
/// ```
/// use es_core::RawEvent;
/// use es_core::{Event, EventStore, ExpectedVersion, MemoryStore, NewEvent, StoredEventRef};
/// # use schemars::JsonSchema;
/// # use serde::{Deserialize, Serialize};
/// use serde_json::json;
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
/// #[event(name = "Withdrawn", version = 1)]
/// struct Withdrawn { amount: u64, account: String }
///
/// /// A withdrawal of 2017 did not name its account: the stream did.
/// fn name_the_account(
///     mut raw: RawEvent,
///     stored: &StoredEventRef<'_>,
/// ) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
///     raw.payload["account"] = json!(stored.stream_id);
///     Ok(vec![RawEvent::new("Withdrawn", 1, raw.payload)])
/// }
///
/// #[derive(Debug, PartialEq, Event)]
/// #[event(raw_upcast(from = ("CashTaken", 1), with_ref = name_the_account))]
/// enum AccountEvent { Withdrawn(Withdrawn) }
///
/// let store = MemoryStore::new();
/// let legacy = NewEvent::new("CashTaken", 1, json!({ "amount": 30 }));
/// store.append("acc-1", ExpectedVersion::NoStream, vec![legacy])?;
/// let mut decoded = Vec::new();
/// store.visit_all(1, &mut |stored| {
///     decoded.extend(AccountEvent::decode_ref(stored).map(|events| events.into_vec()));
///     std::ops::ControlFlow::Continue(())
/// })?;
/// assert_eq!(
///     decoded,
///     [vec![AccountEvent::Withdrawn(Withdrawn { amount: 30, account: "acc-1".into() })]]
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type RawRefUpcaster = fn(
    RawEvent,
    &StoredEventRef<'_>,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>>;

/// A stored payload on its way through the upcasters: JSON text straight from the store, or a
/// JSON value already rewritten by a raw upcaster.
#[derive(Debug, Clone)]
pub enum RawPayload<'a> {
    /// JSON text, parsed straight into the struct of its stored version.
    Json(&'a [u8]),
    /// A JSON value.
    Value(Value),
}

impl RawPayload<'_> {
    /// Parses the payload into `T`.
    ///
    /// # Errors
    /// [`UpcastError::MalformedJson`] when the text is not JSON; [`UpcastError::WrongField`]
    /// naming the field, or [`UpcastError::WrongShape`] when no field can be named, when it is
    /// JSON but not a `T`.
    #[inline]
    pub fn parse<T: DeserializeOwned>(self) -> Result<T, UpcastError> {
        match self {
            RawPayload::Json(bytes) => {
                from_json_text(bytes).map_err(|error| json_error::<T>(bytes, error))
            }
            RawPayload::Value(value) => {
                serde_json::from_value(value).map_err(UpcastError::WrongShape)
            }
        }
    }
}

/// Parses stored JSON text into `T`, as [`serde_json::from_slice`] does, with the same result
/// and the same error for every input. Text that is UTF-8 is checked so once, as a whole, and
/// parsed as a `str`: `from_slice` checks each string and key of the text on its own, which
/// for a payload of short strings costs more than the parse of their JSON. Other bytes go to
/// `from_slice`, which reports where they are. The sameness rests on `serde_json`'s two readers
/// sharing one parser and differing only in those checks (as of `serde_json` 1.0.154); a unit
/// test and the `event_decode` fuzz target compare the two.
///
/// # Errors
/// When the text is not JSON, or not a `T`.
#[inline]
pub(crate) fn from_json_text<T: DeserializeOwned>(text: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(text) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(text),
    }
}

/// The error of JSON text that did not parse into `T`: [`UpcastError::WrongField`] naming the
/// field when the text is JSON of another shape and a field can be named. Called only when
/// parsing failed: the text is parsed again, through a deserializer that tracks the path.
#[cold]
fn json_error<T: DeserializeOwned>(bytes: &[u8], error: serde_json::Error) -> UpcastError {
    if !error.is_data() {
        return UpcastError::from_json(error);
    }
    match field_path::<T>(bytes) {
        Some(field) => UpcastError::WrongField {
            field,
            source: error,
        },
        None => UpcastError::WrongShape(error),
    }
}

/// The path of the field of `bytes` that does not fit `T`, as `title` or `items[2].sku`; for a
/// missing field, the path of the field that is missing. `None` when the payload as a whole
/// does not fit (a string where `T` is an object, say), or when it parses after all.
pub(crate) fn field_path<T: DeserializeOwned>(bytes: &[u8]) -> Option<String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let error = serde_path_to_error::deserialize::<_, T>(&mut deserializer).err()?;
    let path = error.path();
    let mut field = if path.iter().next().is_some() {
        path.to_string()
    } else {
        String::new()
    };
    // serde's message for a missing field, whatever the format: "missing field `name`".
    let message = error.inner().to_string();
    if let Some(missing) = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name)
    {
        if !field.is_empty() {
            field.push('.');
        }
        field.push_str(missing);
    }
    (!field.is_empty()).then_some(field)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{from_json_text, JsonPayload, TextRead};

    #[test]
    fn stored_text_stays_text_until_changed_and_reading_it_says_whether_it_is_json() {
        let (payload, read) = JsonPayload::watch_stored_text(|| {
            let payload = JsonPayload::from_stored_text(br#"{"a": [1, 2]}"#);
            assert_eq!(payload["a"][1], 2);
            payload
        });
        assert_eq!(read, TextRead::Valid);
        assert_eq!(
            payload.stored_text(),
            Some(&br#"{"a": [1, 2]}"#[..]),
            "read, not changed"
        );
        let mut changed = payload.clone();
        changed["b"] = json!(true);
        assert_eq!(changed.stored_text(), None);
        assert_eq!(changed, json!({ "a": [1, 2], "b": true }));

        let (_, read) = JsonPayload::watch_stored_text(|| JsonPayload::from_stored_text(b"{"));
        assert_eq!(read, TextRead::Untouched, "never read");
        let (value, read) =
            JsonPayload::watch_stored_text(|| JsonPayload::from_stored_text(b"{").into_value());
        assert_eq!((value, read), (json!(null), TextRead::Malformed));
    }

    #[test]
    fn a_watch_nested_in_another_keeps_each_answer_apart() {
        let ((), outer) = JsonPayload::watch_stored_text(|| {
            assert!(JsonPayload::from_stored_text(b"[").is_null());
            let ((), inner) = JsonPayload::watch_stored_text(|| {
                assert_eq!(JsonPayload::from_stored_text(b"[1]")[0], 1);
            });
            assert_eq!(inner, TextRead::Valid);
        });
        assert_eq!(outer, TextRead::Malformed);
    }

    /// A struct of the shape the tests' texts aim at, to compare the errors of data too.
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Line {
        sku: String,
        qty: u32,
        tags: Vec<String>,
    }

    #[test]
    fn stored_text_parses_as_from_slice_parses_it_results_and_errors_alike() {
        let texts: [&[u8]; 16] = [
            br#"{"sku": "tea-01", "qty": 2, "tags": ["green", "caf\u00e9"]}"#,
            "{\"sku\": \"th\u{e9}-01\", \"qty\": 2, \"tags\": []}".as_bytes(),
            br#"{"sku": "tea-01", "qty": -2, "tags": []}"#,
            br#"{"sku": "tea-01", "tags": []}"#,
            br#"{"sku": "tea-01", "qty": 2, "tags": [1]}"#,
            br#"{"sku": "tea-01", "qty": 2, "tags": []} x"#,
            br#"{"sku": "tea-01", "qty": 2,"#,
            br#"{"sku": "\ud800", "qty": 2, "tags": []}"#,
            br#"{"sku": "\uzzzz", "qty": 2, "tags": []}"#,
            b"{\"sku\": \"\xff\", \"qty\": 2, \"tags\": []}",
            b"{\"sku\": \"tea\", \"qty\": 2, \"tags\": []}\xff",
            b"\xef\xbb\xbf{}",
            b"{\"sku\": \"tea\tleaf\", \"qty\": 2, \"tags\": []}",
            b"\n\n  [1, 2,\n 3",
            b"",
            b"null",
        ];
        for text in texts {
            let shown = String::from_utf8_lossy(text);
            assert_eq!(
                format!("{:?}", from_json_text::<serde_json::Value>(text)),
                format!("{:?}", serde_json::from_slice::<serde_json::Value>(text)),
                "as a value: {shown}"
            );
            assert_eq!(
                format!("{:?}", from_json_text::<Line>(text)),
                format!("{:?}", serde_json::from_slice::<Line>(text)),
                "as a struct: {shown}"
            );
            assert_eq!(
                format!(
                    "{:?}",
                    from_json_text::<Box<serde_json::value::RawValue>>(text)
                ),
                format!(
                    "{:?}",
                    serde_json::from_slice::<Box<serde_json::value::RawValue>>(text)
                ),
                "as raw JSON: {shown}"
            );
        }
    }
}

//! The derive's expansion is lint-clean: representative inputs compiled under the strictest
//! lints a user may set. `cargo test` checks the rustc lints, `cargo clippy --all-targets` the
//! pedantic ones.
#![deny(unused_qualifications, clippy::pedantic)]

use es_core::RawEvent;
use es_core::{Event, NewEvent, StoredEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A first version.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Opened", version = 1)]
pub struct OpenedV1 {
    owner: String,
}

/// An upcast with `From`, a renamed tag and an alias.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", version = 2, upcast_from = OpenedV1, alias = "Started")]
pub struct OpenedV2 {
    owner: String,
}

impl From<OpenedV1> for OpenedV2 {
    fn from(v1: OpenedV1) -> Self {
        Self { owner: v1.owner }
    }
}

/// A fallible upcast.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", version = 3, upcast_from = OpenedV2, try_upcast)]
pub struct Opened {
    owner: String,
}

impl TryFrom<OpenedV2> for Opened {
    type Error = &'static str;

    fn try_from(v2: OpenedV2) -> Result<Self, &'static str> {
        if v2.owner.is_empty() {
            Err("no owner")
        } else {
            Ok(Self { owner: v2.owner })
        }
    }
}

/// A version struct used on its own.
#[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
pub struct Closed {}

/// A raw upcaster that reads its context.
///
/// # Errors
/// Never.
pub fn opened_from_stream(
    raw: RawEvent,
    stored: &StoredEvent,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    let mut payload = raw.payload;
    payload["owner"] = json!(stored.stream_id);
    Ok(vec![RawEvent::new("Opened", 1, payload)])
}

/// A version that reads newer ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Deposited", version = 1, read_newer)]
pub struct DepositedV1 {
    amount: u64,
}

/// A version written as the previous one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Deposited", version = 2, upcast_from = DepositedV1, write_as = DepositedV1)]
pub struct Deposited {
    amount: u64,
    memo: Option<String>,
}

impl From<DepositedV1> for Deposited {
    fn from(v1: DepositedV1) -> Self {
        Self {
            amount: v1.amount,
            memo: None,
        }
    }
}

impl From<Deposited> for DepositedV1 {
    fn from(v2: Deposited) -> Self {
        Self { amount: v2.amount }
    }
}

/// An enum with every enum-level attribute.
#[derive(Debug, PartialEq, Event)]
#[event(removed("Viewed", ("Printed", 2)))]
#[event(raw_upcast(from = ("Created", 1), with = opened_from_stream, schema = OpenedV1))]
pub enum AccountEvent {
    /// Opened.
    Opened(Opened),
    /// Closed.
    Closed(Closed),
    /// Deposited.
    Deposited(Deposited),
}

#[test]
fn representative_inputs_expand_lint_clean_and_decode() {
    let store = es_core::MemoryStore::new();
    let events = vec![
        NewEvent::new("Created", 1, json!({})),
        NewEvent::new("Started", 2, json!({ "owner": "ada" })),
        NewEvent::new("Viewed", 7, json!({})),
        NewEvent::encode(&AccountEvent::Closed(Closed {})).expect("encodes"),
        NewEvent::encode(&AccountEvent::Deposited(Deposited {
            amount: 5,
            memo: Some("rent".into()),
        }))
        .expect("encodes"),
    ];
    es_core::EventStore::append(&store, "acc-1", es_core::ExpectedVersion::NoStream, events)
        .expect("append");
    let decoded: Vec<AccountEvent> = es_core::EventStore::read_stream(&store, "acc-1", 1)
        .expect("read")
        .flat_map(|stored| AccountEvent::decode(&stored.expect("readable")).expect("decodes"))
        .collect();
    assert_eq!(
        decoded,
        [
            AccountEvent::Opened(Opened {
                owner: "acc-1".into()
            }),
            AccountEvent::Opened(Opened {
                owner: "ada".into()
            }),
            AccountEvent::Closed(Closed {}),
            AccountEvent::Deposited(Deposited {
                amount: 5,
                memo: None
            }),
        ]
    );
}

/// `event` appended alone to a memory store, as read back.
fn stored_alone(event: NewEvent) -> StoredEvent {
    let store = es_core::MemoryStore::new();
    es_core::EventStore::append(&store, "s", es_core::ExpectedVersion::Any, vec![event])
        .expect("append");
    let stored = es_core::EventStore::read_stream(&store, "s", 1)
        .expect("read")
        .next()
        .expect("one event")
        .expect("readable");
    stored
}

/// Version structs declared by a `macro_rules!` macro: the upcast steps, spanned at the type
/// `upcast_from` names for their error messages, still resolve under the macro's hygiene.
macro_rules! versions {
    () => {
        /// A first version, from a macro.
        #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
        #[event(name = "Counted", version = 1)]
        pub struct CountedV1 {
            n: u32,
        }

        /// An upcast with `From`, from a macro.
        #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
        #[event(name = "Counted", version = 2, upcast_from = CountedV1)]
        pub struct CountedV2 {
            n: u64,
        }

        impl From<CountedV1> for CountedV2 {
            fn from(v1: CountedV1) -> Self {
                Self { n: u64::from(v1.n) }
            }
        }

        /// An upcast with `TryFrom`, from a macro.
        #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
        #[event(name = "Counted", version = 3, upcast_from = CountedV2, try_upcast)]
        pub struct Counted {
            n: u16,
        }

        impl TryFrom<CountedV2> for Counted {
            type Error = std::num::TryFromIntError;

            fn try_from(v2: CountedV2) -> Result<Self, Self::Error> {
                Ok(Self {
                    n: u16::try_from(v2.n)?,
                })
            }
        }
    };
}

versions!();

#[test]
fn upcast_steps_declared_in_a_macro_resolve_and_run() {
    let decode = |n: u32| {
        let stored = stored_alone(NewEvent::new("Counted", 1, json!({ "n": n })));
        Counted::decode(&stored).map(es_core::Decoded::into_vec)
    };
    assert_eq!(decode(7).expect("decodes"), [Counted { n: 7 }]);
    let error = decode(70_000).expect_err("too large for v3");
    assert!(
        matches!(
            error.kind,
            es_core::DecodeErrorKind::UpcastFailed {
                from: "CountedV2",
                ..
            }
        ),
        "{error}"
    );
}

/// Version types named like the type parameters an expansion's generic functions might
/// declare: those must not shadow them.
mod single_letter_names {
    use es_core::Event;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    /// A first version named `T`.
    #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "Letter", version = 1)]
    pub struct T {
        pub n: u32,
    }

    /// A second version named `F`, upcast from `T`.
    #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "Letter", version = 2, upcast_from = T)]
    pub struct F {
        pub n: u64,
    }

    impl From<T> for F {
        fn from(t: T) -> Self {
            Self { n: u64::from(t.n) }
        }
    }

    /// An enum whose variant holds `F`.
    #[derive(Debug, PartialEq, Event)]
    pub enum Letters {
        /// `F`.
        F(F),
    }
}

#[test]
fn version_types_named_like_type_parameters_decode() {
    use single_letter_names::{Letters, F};
    let stored = stored_alone(NewEvent::new("Letter", 1, json!({ "n": 3 })));
    assert_eq!(
        Letters::decode(&stored).expect("decodes").into_vec(),
        [Letters::F(F { n: 3 })]
    );
    assert_eq!(
        F::decode(&stored).expect("decodes").into_vec(),
        [F { n: 3 }]
    );
}

/// A chain and an enum beside constants and a static named like the locals an expansion
/// binds: a closure's parameter of such a name would be taken for the constant.
#[allow(non_upper_case_globals, dead_code)]
mod locals_named_like_user_items {
    use es_core::Event;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    const then: u32 = 0;
    const stepped: u32 = 0;
    const previous: u32 = 0;
    static event: u32 = 0;
    static upcaster: u32 = 0;

    /// A first version.
    #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "Noted", version = 1)]
    pub struct NotedV1 {
        pub text: String,
    }

    /// A fallible upcast.
    #[derive(Debug, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "Noted", version = 2, upcast_from = NotedV1, try_upcast)]
    pub struct Noted {
        pub text: String,
    }

    impl TryFrom<NotedV1> for Noted {
        type Error = &'static str;

        fn try_from(v1: NotedV1) -> Result<Self, &'static str> {
            Ok(Self { text: v1.text })
        }
    }

    /// `Jotted` v1 was `Noted` v1 under another tag.
    #[allow(clippy::unnecessary_wraps)]
    fn rename(
        raw: es_core::RawEvent,
        _: &es_core::StoredEventRef<'_>,
    ) -> Result<Vec<es_core::RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
        Ok(vec![es_core::RawEvent::new("Noted", 1, raw.payload)])
    }

    /// An enum over the chain, with a raw upcaster.
    #[derive(Debug, PartialEq, Event)]
    #[event(raw_upcast(from = ("Jotted", 1), with_ref = rename))]
    pub enum Notes {
        /// `Noted`.
        Noted(Noted),
    }
}

#[test]
fn locals_of_the_expansion_do_not_clash_with_user_items() {
    use locals_named_like_user_items::{Noted, Notes};
    for tag in ["Noted", "Jotted"] {
        let stored = stored_alone(NewEvent::new(tag, 1, json!({ "text": "hi" })));
        assert_eq!(
            Notes::decode(&stored).expect("decodes").into_vec(),
            [Notes::Noted(Noted { text: "hi".into() })]
        );
    }
}

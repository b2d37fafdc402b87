//! The schema lock: published versions cannot change shape or vanish unnoticed, new versions
//! need an upcast path and an explicit `ES_UPDATE_LOCK=1`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use es_core::schema::{check_lock, update_lock, LockError, LockOutcome, LockProblem};
use es_examples::account::AccountEvent;

/// The versions as first published.
mod published {
    use es_core::Event;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "Deposited", version = 1)]
    pub struct Deposited {
        pub amount: u64,
    }

    #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "Closed", version = 1)]
    pub struct Closed {
        pub reason: String,
    }

    #[derive(Debug, Event)]
    pub enum Events {
        Deposited(Deposited),
        Closed(Closed),
    }
}

/// v1 of `Deposited` edited in place: `amount` became a string.
mod edited {
    use es_core::Event;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    /// Documentation changes do not count, only the shape.
    #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "Deposited", version = 1)]
    pub struct DepositedRenamedStruct {
        /// Now a decimal string.
        pub amount: String,
    }

    #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "Closed", version = 1)]
    pub struct Closed {
        pub reason: String,
    }

    #[derive(Debug, Event)]
    pub enum Events {
        Deposited(DepositedRenamedStruct),
        Closed(Closed),
    }
}

/// A properly added v2 of `Deposited`, upcast from v1, and written as v1 while the release
/// before reads only v1 (the first step of a rolling deploy).
mod added {
    use es_core::Event;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    pub use super::published::{Closed, Deposited as DepositedV1};

    #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "Deposited", version = 2, upcast_from = DepositedV1, write_as = DepositedV1)]
    pub struct Deposited {
        pub amount: u64,
        pub currency: String,
        #[serde(default)]
        pub memo: Option<String>,
    }

    impl From<DepositedV1> for Deposited {
        fn from(v1: DepositedV1) -> Self {
            Self {
                amount: v1.amount,
                currency: "EUR".into(),
                memo: None,
            }
        }
    }

    impl From<Deposited> for DepositedV1 {
        fn from(v2: Deposited) -> Self {
            Self { amount: v2.amount }
        }
    }

    #[derive(Debug, Event)]
    pub enum Events {
        Deposited(Deposited),
        Closed(Closed),
    }
}

/// A v2 of `Deposited` that forgot `upcast_from`, and `Closed` dropped.
mod broken {
    use es_core::Event;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "Deposited", version = 2)]
    pub struct Deposited {
        pub amount: u64,
    }

    #[derive(Debug, Event)]
    pub enum Events {
        Deposited(Deposited),
    }
}

/// `Closed` is no longer wanted: every version of it is skipped on purpose.
mod closed_removed {
    use es_core::Event;

    pub use super::published::Deposited;

    #[derive(Debug, Event)]
    #[event(removed("Closed"))]
    pub enum Events {
        Deposited(Deposited),
    }
}

/// `Audited` events are skipped at every version, `Closed` v1 events too, and `Closed`
/// itself is not published yet: the removals of a code base that never decoded either.
mod audit_removed {
    use es_core::Event;

    pub use super::published::Deposited;

    #[derive(Debug, Event)]
    #[event(removed("Audited", ("Closing", 1)))]
    pub enum Events {
        Deposited(Deposited),
    }
}

/// `Audited` decodes again, as a typed event type of its own.
mod audit_decoded {
    use es_core::Event;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    pub use super::published::Deposited;

    #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "Audited", version = 1)]
    pub struct Audited {
        pub by: String,
    }

    #[derive(Debug, Event)]
    #[event(removed(("Closing", 1)))]
    pub enum Events {
        Deposited(Deposited),
        Audited(Audited),
    }
}

/// `Audited` removed at version 1 only, where `audit_removed` removed it at every version.
mod audit_removed_at_v1 {
    use es_core::Event;

    pub use super::published::Deposited;

    #[derive(Debug, Event)]
    #[event(removed(("Audited", 1), ("Closing", 1)))]
    pub enum Events {
        Deposited(Deposited),
    }
}

/// Neither `Closed` nor its removal: only `Deposited`.
mod only_deposited {
    use es_core::Event;

    pub use super::published::Deposited;

    #[derive(Debug, Event)]
    pub enum Events {
        Deposited(Deposited),
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "es-schema-lock-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }

    fn lock(&self) -> PathBuf {
        self.0.join("events.lock.json")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn published_lock(dir: &TempDir) -> PathBuf {
    let path = dir.lock();
    let outcome = update_lock::<published::Events>(&path).expect("create the lock");
    assert!(
        matches!(outcome, LockOutcome::Updated { .. }),
        "{outcome:?}"
    );
    path
}

fn problems(error: &LockError) -> &[LockProblem] {
    match error {
        LockError::Mismatch { problems, .. } => problems,
        other => panic!("expected a mismatch, got {other}"),
    }
}

/// `ES_UPDATE_LOCK=1` refuses the code's change to the lock at `path`: a mismatch that is
/// more than new versions.
fn assert_an_update_never_accepts<E: es_core::Event>(path: &Path) {
    let again = update_lock::<E>(path).expect_err("an update never accepts this change");
    assert!(
        matches!(
            again,
            LockError::Mismatch {
                only_new_versions: false,
                ..
            }
        ),
        "{again}"
    );
}

#[test]
fn the_account_events_match_their_committed_lock() {
    // As a user writes it: fails on any mismatch; `ES_UPDATE_LOCK=1` accepts new versions.
    check_lock::<AccountEvent>("fixtures/account_events.lock.json")
        .expect("the committed lock matches the code");
}

#[test]
fn unchanged_code_passes_and_the_lock_file_is_sorted_pretty_json() {
    let dir = TempDir::new();
    let path = published_lock(&dir);
    assert_eq!(
        check_lock::<published::Events>(&path).expect("passes"),
        LockOutcome::Unchanged
    );
    let text = std::fs::read_to_string(&path).expect("lock file");
    assert!(text.ends_with("}\n"), "ends with a newline");
    let closed = text.find("\"tag\": \"Closed\"").expect("Closed entry");
    let deposited = text
        .find("\"tag\": \"Deposited\"")
        .expect("Deposited entry");
    assert!(closed < deposited, "entries sorted by tag");
    update_lock::<published::Events>(&path).expect("rewrite");
    assert_eq!(
        std::fs::read_to_string(&path).expect("lock file"),
        text,
        "stable output"
    );
}

#[test]
fn a_published_version_edited_in_place_fails_naming_the_difference() {
    let dir = TempDir::new();
    let path = published_lock(&dir);
    let error = check_lock::<edited::Events>(&path).expect_err("an edit in place fails");
    match problems(&error) {
        [LockProblem::EditedInPlace {
            tag,
            version,
            differences,
            ..
        }] => {
            assert_eq!((tag.as_str(), *version), ("Deposited", 1));
            assert_eq!(
                differences,
                &[
                    r#"/properties/amount/format: removed (was "uint64")"#,
                    "/properties/amount/minimum: removed (was 0)",
                    r#"/properties/amount/type: "integer" → "string""#,
                ]
            );
        }
        other => panic!("expected one edit in place, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.contains("✗ Deposited v1 was edited in place"),
        "{message}"
    );
    assert!(message.contains("never accepts them"), "{message}");
    assert_an_update_never_accepts::<edited::Events>(&path);
}

#[test]
fn a_new_version_fails_until_accepted_with_a_compatibility_note() {
    let dir = TempDir::new();
    let path = published_lock(&dir);
    let error = check_lock::<added::Events>(&path).expect_err("new versions need accepting");
    let message = error.to_string();
    assert!(
        message.contains(
            "+ Deposited v2 is new: upcasts from Deposited v1: added required field `currency`; \
             added optional field `memo`; FORWARD"
        ),
        "{message}"
    );
    assert!(message.contains("ES_UPDATE_LOCK=1 cargo test"), "{message}");
    let outcome = update_lock::<added::Events>(&path).expect("accepted");
    assert!(
        matches!(&outcome, LockOutcome::Updated { notes } if notes.len() == 2
            && notes[0].starts_with("+ Deposited v2 is new")
            && notes[1].starts_with("~ Deposited v2 is written as Deposited v1 (`write_as`)")),
        "{outcome:?}"
    );
    assert_eq!(
        check_lock::<added::Events>(&path).expect("passes now"),
        LockOutcome::Unchanged
    );
}

#[test]
fn a_vanished_version_and_a_missing_upcast_path_fail() {
    let dir = TempDir::new();
    let path = published_lock(&dir);
    let error = update_lock::<broken::Events>(&path).expect_err("fails even when updating");
    let found = problems(&error);
    assert!(
        found.contains(&LockProblem::Disappeared {
            tag: "Closed".into(),
            version: 1
        }),
        "{found:?}"
    );
    assert!(
        found.contains(&LockProblem::Disappeared {
            tag: "Deposited".into(),
            version: 1
        }),
        "{found:?}"
    );
    assert!(
        found.contains(&LockProblem::NoUpcastPath {
            tag: "Deposited".into(),
            version: 2,
            predecessor: 1
        }),
        "{found:?}"
    );
    assert!(
        error
            .to_string()
            .contains("add `upcast_from` naming the v1 struct"),
        "{error}"
    );
}

#[test]
fn removing_a_published_tag_on_purpose_is_a_reviewed_change_that_keeps_its_shape() {
    let dir = TempDir::new();
    let path = published_lock(&dir);
    let before = std::fs::read_to_string(&path).expect("lock file");
    let error = check_lock::<closed_removed::Events>(&path).expect_err("needs accepting");
    assert!(
        matches!(
            problems(&error),
            [LockProblem::DecodingChanged { tag, version: 1, from, to }]
                if tag == "Closed" && from == "typed" && to == "removed (every version)"
        ),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("~ Closed v1 now decodes removed (every version) (was typed)"),
        "{error}"
    );
    update_lock::<closed_removed::Events>(&path).expect("accepted");
    let after = std::fs::read_to_string(&path).expect("lock file");
    let closed = |text: &str| {
        let lock: serde_json::Value = serde_json::from_str(text).expect("lock JSON");
        lock["events"][0].clone()
    };
    let (was, now) = (closed(&before), closed(&after));
    assert_eq!(now["tag"], "Closed");
    assert_eq!(
        (&now["schema"], &now["fingerprint"]),
        (&was["schema"], &was["fingerprint"]),
        "the published shape of Closed v1 stays in the lock"
    );
    assert_eq!(
        (&was["decoding"], &was["written"]),
        (&serde_json::json!("typed"), &serde_json::json!(true))
    );
    assert_eq!(
        (&now["decoding"], now.get("written")),
        (&serde_json::json!("removed (every version)"), None),
        "nothing writes Closed any more"
    );
    assert_eq!(
        check_lock::<closed_removed::Events>(&path).expect("passes"),
        LockOutcome::Unchanged
    );
}

fn lock_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("lock file")).expect("lock JSON")
}

/// Rewrites the lock at `path` as format 2 wrote it: format 2, and no `removed` list.
fn rewrite_as_format_2(path: &Path) {
    let mut lock = lock_json(path);
    lock["format"] = 2.into();
    lock.as_object_mut().expect("object").remove("removed");
    std::fs::write(path, serde_json::to_string_pretty(&lock).expect("JSON")).expect("write");
}

#[test]
fn a_tag_removed_at_every_version_is_recorded_in_the_lock() {
    let dir = TempDir::new();
    let path = dir.lock();
    update_lock::<audit_removed::Events>(&path).expect("create the lock");
    let lock = lock_json(&path);
    assert_eq!(lock["format"], 3);
    assert_eq!(lock["removed"], serde_json::json!(["Audited"]));
    let entries: Vec<(String, u64, String)> = lock["events"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| {
            (
                e["tag"].as_str().unwrap_or_default().to_owned(),
                e["version"].as_u64().unwrap_or_default(),
                e["decoding"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            ("Closing".to_owned(), 1, "removed".to_owned()),
            ("Deposited".to_owned(), 1, "typed".to_owned()),
        ],
        "no entry of version 0 for the tag removed at every version"
    );
    assert_eq!(
        check_lock::<audit_removed::Events>(&path).expect("passes"),
        LockOutcome::Unchanged
    );
}

#[test]
fn a_new_removal_is_a_change_to_accept() {
    let dir = TempDir::new();
    let path = dir.lock();
    update_lock::<only_deposited::Events>(&path).expect("create the lock");
    let error = check_lock::<audit_removed::Events>(&path).expect_err("needs accepting");
    assert!(
        problems(&error).contains(&LockProblem::NewRemoval {
            tag: "Audited".into()
        }),
        "{error}"
    );
    assert!(
        matches!(
            error,
            LockError::Mismatch {
                only_new_versions: true,
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("+ Audited is removed at every version (`removed(\"Audited\")`)"),
        "{error}"
    );
    update_lock::<audit_removed::Events>(&path).expect("accepted");
    assert_eq!(
        check_lock::<audit_removed::Events>(&path).expect("passes"),
        LockOutcome::Unchanged
    );
}

#[test]
fn deleting_a_removed_attribute_fails_and_says_to_restore_it() {
    let dir = TempDir::new();
    let path = dir.lock();
    update_lock::<audit_removed::Events>(&path).expect("create the lock");
    let error = check_lock::<only_deposited::Events>(&path).expect_err("a forgotten removal");
    assert_eq!(
        problems(&error),
        [
            LockProblem::RemovalForgotten {
                tag: "Closing".into(),
                version: Some(1)
            },
            LockProblem::RemovalForgotten {
                tag: "Audited".into(),
                version: None
            },
        ]
    );
    let message = error.to_string();
    for part in [
        "✗ Audited was removed on purpose at every version, and the code no longer mentions it",
        "would fail to decode as an unknown event type",
        "Restore `removed(\"Audited\")` in the enum's `#[event(...)]`",
        "✗ Closing v1 was removed on purpose",
        "Restore `removed((\"Closing\", 1))`",
    ] {
        assert!(message.contains(part), "{part:?} in {message}");
    }
    assert!(!message.contains("v0"), "{message}");
    assert_an_update_never_accepts::<only_deposited::Events>(&path);
}

#[test]
fn narrowing_a_removal_to_some_versions_fails_and_says_to_restore_it() {
    let dir = TempDir::new();
    let path = dir.lock();
    update_lock::<audit_removed::Events>(&path).expect("create the lock");
    let error = check_lock::<audit_removed_at_v1::Events>(&path).expect_err("narrowed");
    assert!(
        problems(&error).contains(&LockProblem::RemovalNarrowed {
            tag: "Audited".into(),
            now: "v1".into()
        }),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains(
            "✗ Audited was removed on purpose at every version, and the code now removes only v1: stored events of its other versions"
        ),
        "{message}"
    );
    assert!(!message.contains("decodes again"), "{message}");
    assert_an_update_never_accepts::<audit_removed_at_v1::Events>(&path);
}

#[test]
fn decoding_a_removed_tag_again_is_a_change_to_review() {
    let dir = TempDir::new();
    let path = dir.lock();
    update_lock::<audit_removed::Events>(&path).expect("create the lock");
    let error = check_lock::<audit_decoded::Events>(&path).expect_err("needs accepting");
    let found = problems(&error);
    assert!(
        found.contains(&LockProblem::RemovalUndone {
            tag: "Audited".into(),
            now: "v1 typed".into()
        }),
        "{error}"
    );
    assert!(
        matches!(
            error,
            LockError::Mismatch {
                only_new_versions: true,
                ..
            }
        ),
        "{error}"
    );
    let message = error.to_string();
    assert!(
        message.contains(
            "~ Audited was removed on purpose at every version, and now decodes again (v1 typed)"
        ),
        "{message}"
    );
    assert!(
        message.contains("otherwise restore `removed(\"Audited\")`"),
        "{message}"
    );
    update_lock::<audit_decoded::Events>(&path).expect("accepted once reviewed");
    assert!(lock_json(&path).get("removed").is_none(), "nothing removed");
    assert_eq!(
        check_lock::<audit_decoded::Events>(&path).expect("passes"),
        LockOutcome::Unchanged
    );
}

#[test]
fn a_published_tag_removed_and_then_decoded_again_says_so() {
    let dir = TempDir::new();
    let path = published_lock(&dir);
    update_lock::<closed_removed::Events>(&path).expect("removal accepted");
    assert_eq!(lock_json(&path)["removed"], serde_json::json!(["Closed"]));
    let error = check_lock::<published::Events>(&path).expect_err("un-removed");
    let found = problems(&error);
    assert!(
        found.contains(&LockProblem::RemovalUndone {
            tag: "Closed".into(),
            now: "v1 typed".into()
        }),
        "{error}"
    );
    assert!(
        error.to_string().contains(
            "~ Closed v1 now decodes typed (was removed (every version)); its published shape is kept. Stored events of it, which replays skipped, now decode into events"
        ),
        "{error}"
    );
    let forgotten = check_lock::<only_deposited::Events>(&path).expect_err("forgotten");
    assert_eq!(
        problems(&forgotten),
        [LockProblem::RemovalForgotten {
            tag: "Closed".into(),
            version: None
        }],
        "one line for the tag, not one per published version"
    );
}

#[test]
fn a_format_2_lock_still_reads_and_an_update_rewrites_it_as_format_3() {
    let dir = TempDir::new();
    let path = published_lock(&dir);
    update_lock::<closed_removed::Events>(&path).expect("removal accepted");
    // The same lock as format 2 wrote it: no `removed` list.
    rewrite_as_format_2(&path);

    assert_eq!(
        check_lock::<closed_removed::Events>(&path).expect("a format 2 lock reads"),
        LockOutcome::Unchanged
    );
    let forgotten = check_lock::<only_deposited::Events>(&path).expect_err("forgotten");
    assert_eq!(
        problems(&forgotten),
        [LockProblem::RemovalForgotten {
            tag: "Closed".into(),
            version: None
        }],
        "format 2 knows the removal from its entries"
    );
    let outcome = update_lock::<closed_removed::Events>(&path).expect("rewritten");
    assert_eq!(
        outcome,
        LockOutcome::Updated {
            notes: vec!["~ lock file format 2 rewritten as format 3".into()]
        }
    );
    let lock = lock_json(&path);
    assert_eq!(
        (&lock["format"], &lock["removed"]),
        (&3.into(), &serde_json::json!(["Closed"]))
    );
}

#[test]
fn a_format_2_lock_fails_once_for_a_removal_it_could_not_record_and_an_update_records_it() {
    let dir = TempDir::new();
    let path = dir.lock();
    update_lock::<audit_removed::Events>(&path).expect("create the lock");
    // As format 2 wrote it: `Audited`, never published, was in no entry, and in no list.
    rewrite_as_format_2(&path);

    let error = check_lock::<audit_removed::Events>(&path).expect_err("not recorded yet");
    assert_eq!(
        problems(&error),
        [LockProblem::NewRemoval {
            tag: "Audited".into()
        }]
    );
    assert!(
        matches!(
            error,
            LockError::Mismatch {
                only_new_versions: true,
                ..
            }
        ),
        "{error}"
    );
    update_lock::<audit_removed::Events>(&path).expect("accepted");
    assert_eq!(
        (
            lock_json(&path)["format"].clone(),
            lock_json(&path)["removed"].clone()
        ),
        (3.into(), serde_json::json!(["Audited"]))
    );
    assert_eq!(
        check_lock::<audit_removed::Events>(&path).expect("passes"),
        LockOutcome::Unchanged
    );
}

#[test]
fn the_workspace_lock_as_format_2_wrote_it_still_matches() {
    let dir = TempDir::new();
    let path = dir.lock();
    std::fs::copy("fixtures/account_events.format2.lock.json", &path).expect("copy the fixture");
    assert_eq!(lock_json(&path)["format"], 2);
    assert_eq!(
        check_lock::<AccountEvent>(&path).expect("matches"),
        LockOutcome::Unchanged,
        "an older lock file passes as it is"
    );
}

#[test]
fn a_missing_lock_file_is_created_only_on_request() {
    let dir = TempDir::new();
    let error = check_lock::<published::Events>(dir.lock()).expect_err("no lock yet");
    assert!(matches!(
        error,
        LockError::Mismatch {
            only_new_versions: true,
            ..
        }
    ));
    assert!(!dir.lock().exists(), "a check writes nothing");
}

#[test]
fn without_a_lock_file_or_its_folders_the_check_says_so_and_an_update_creates_them() {
    let dir = TempDir::new();
    let path = dir
        .0
        .join("tests")
        .join("fixtures")
        .join("events.lock.json");
    let error = check_lock::<published::Events>(&path).expect_err("no lock yet");
    let report = error.to_string();
    assert!(report.contains("+ no lock file yet"), "{report}");
    assert!(
        !report.contains("is new"),
        "not every version listed: {report}"
    );
    assert!(
        matches!(
            error,
            LockError::Mismatch {
                only_new_versions: true,
                ..
            }
        ),
        "{report}"
    );

    let outcome = update_lock::<published::Events>(&path).expect("creates the folders and lock");
    match &outcome {
        LockOutcome::Updated { notes } => {
            assert_eq!(notes.len(), 1, "{notes:?}");
            assert!(notes[0].starts_with("+ no lock file yet"), "{notes:?}");
        }
        other => panic!("expected an update, got {other:?}"),
    }
    assert_eq!(
        check_lock::<published::Events>(&path).expect("the new lock matches"),
        LockOutcome::Unchanged
    );

    let by_env = dir
        .0
        .join("other")
        .join("fixtures")
        .join("events.lock.json");
    assert!(
        run_child(&by_env, true, false),
        "ES_UPDATE_LOCK=1 creates the lock file and its folders"
    );
    assert!(
        run_child(&by_env, false, false),
        "and the lock then matches"
    );
}

#[test]
fn a_malformed_lock_file_is_reported() {
    let dir = TempDir::new();
    std::fs::write(dir.lock(), "{ not json").expect("write");
    let error = check_lock::<published::Events>(dir.lock()).expect_err("malformed");
    assert!(matches!(error, LockError::Malformed { .. }), "{error}");
}

/// Runs only as a child of the tests below, with `ES_LOCK_CHILD_PATH` naming the lock file.
#[test]
fn child_checks_the_lock_named_by_the_environment() {
    let Some(path) = std::env::var_os("ES_LOCK_CHILD_PATH") else {
        return;
    };
    check_lock::<added::Events>(Path::new(&path)).expect("lock check in child");
}

fn run_child(path: &Path, update: bool, ci: bool) -> bool {
    let mut child = Command::new(std::env::current_exe().expect("test binary"));
    child
        .args([
            "--exact",
            "child_checks_the_lock_named_by_the_environment",
            "--nocapture",
        ])
        .env("ES_LOCK_CHILD_PATH", path)
        .env_remove("CI")
        .env_remove("ES_UPDATE_LOCK");
    if update {
        child.env("ES_UPDATE_LOCK", "1");
    }
    if ci {
        child.env("CI", "true");
    }
    child.output().expect("run child").status.success()
}

#[test]
fn es_update_lock_accepts_new_versions_except_under_ci() {
    let dir = TempDir::new();
    let path = published_lock(&dir);
    assert!(
        !run_child(&path, false, false),
        "without ES_UPDATE_LOCK the new version fails"
    );
    assert!(!run_child(&path, true, true), "CI ignores ES_UPDATE_LOCK");
    assert!(
        run_child(&path, true, false),
        "ES_UPDATE_LOCK=1 accepts the new version"
    );
    assert!(run_child(&path, false, false), "and the lock then matches");
}

#[test]
fn a_lock_of_a_newer_format_is_refused_not_checked_or_rewritten() {
    let dir = TempDir::new();
    let path = published_lock(&dir);
    let mut lock = lock_json(&path);
    lock["format"] = 4.into();
    let text = serde_json::to_string_pretty(&lock).expect("JSON");
    std::fs::write(&path, &text).expect("write");

    let error = check_lock::<published::Events>(&path).expect_err("a newer format");
    assert!(
        matches!(
            error,
            LockError::NewerFormat {
                format: 4,
                supported: 3,
                ..
            }
        ),
        "{error}"
    );
    assert!(
        error.to_string().ends_with(
            "is format 4, written by a newer release of es-core, which reads up to format 3: upgrade es-core rather than check or rewrite the lock with this release"
        ),
        "{error}"
    );
    update_lock::<published::Events>(&path).expect_err("not rewritten either");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        text,
        "the lock is untouched"
    );
}

//! The schema lock and rolling deploys: the lock records which version of each tag is written
//! and which latest versions read newer ones, and its check says when the code writes a version
//! the previous release (the lock) cannot read. Each outcome's message is pinned by a snapshot.

use std::path::{Path, PathBuf};

use es_core::schema::{check_lock, update_lock, LockError, LockOutcome, LockProblem};

/// Release N: `FundsDeposited` v1 is the latest and is written.
mod release_n {
    use es_core::Event;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "FundsDeposited", version = 1)]
    pub struct FundsDepositedV1 {
        pub amount: u64,
        pub memo: Option<String>,
    }

    #[derive(Debug, Event)]
    pub enum Events {
        Deposited(FundsDepositedV1),
    }
}

/// Release N with tolerant reading: its v1 reads newer versions that fit it.
mod release_n_tolerant {
    use es_core::Event;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "FundsDeposited", version = 1, read_newer)]
    pub struct FundsDepositedV1 {
        pub amount: u64,
        pub memo: Option<String>,
    }

    #[derive(Debug, Event)]
    pub enum Events {
        Deposited(FundsDepositedV1),
    }
}

/// Defines a release N+1 module: a v2 `FundsDeposited` with the given fields and attributes,
/// upcast from the v1 of `$previous`.
macro_rules! next_release {
    ($module:ident, $previous:ident, [$($attr:tt)*], { $($field:ident: $ty:ty = $from:expr),* }) => {
        mod $module {
            use es_core::Event;
            use schemars::JsonSchema;
            use serde::{Deserialize, Serialize};

            pub use super::$previous::FundsDepositedV1;

            #[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, Event)]
            #[event(name = "FundsDeposited", version = 2, upcast_from = FundsDepositedV1 $($attr)*)]
            pub struct FundsDeposited {
                $(pub $field: $ty,)*
            }

            impl From<FundsDepositedV1> for FundsDeposited {
                fn from(v1: FundsDepositedV1) -> Self {
                    let _ = &v1;
                    Self { $($field: $from(&v1),)* }
                }
            }

            impl From<FundsDeposited> for FundsDepositedV1 {
                fn from(_: FundsDeposited) -> Self {
                    Self { amount: 0, memo: None }
                }
            }

            #[derive(Debug, Event)]
            pub enum Events {
                Deposited(FundsDeposited),
            }
        }
    };
}

// `amount` renamed `cents`: no release N reads it.
next_release!(step_1, release_n, [, write_as = FundsDepositedV1], {
    cents: u64 = |v1: &FundsDepositedV1| v1.amount
});
next_release!(step_2, release_n, [], { cents: u64 = |v1: &FundsDepositedV1| v1.amount });
// An optional field added: fits release N's v1 when it reads newer versions.
next_release!(with_reference, release_n_tolerant, [], {
    amount: u64 = |v1: &FundsDepositedV1| v1.amount,
    memo: Option<String> = |v1: &FundsDepositedV1| v1.memo.clone(),
    reference: Option<String> = |_: &FundsDepositedV1| None
});
next_release!(with_reference_strict, release_n, [], {
    amount: u64 = |v1: &FundsDepositedV1| v1.amount,
    memo: Option<String> = |v1: &FundsDepositedV1| v1.memo.clone(),
    reference: Option<String> = |_: &FundsDepositedV1| None
});
// The optional `memo` renamed `note`: release N would read every memo as `None`.
next_release!(memo_renamed, release_n_tolerant, [], {
    amount: u64 = |v1: &FundsDepositedV1| v1.amount,
    note: Option<String> = |v1: &FundsDepositedV1| v1.memo.clone()
});

struct Lock {
    dir: tempfile::TempDir,
}

impl Lock {
    /// The lock as release `E` leaves it.
    fn of<E: es_core::Event>() -> Self {
        let lock = Self {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        update_lock::<E>(lock.path()).expect("the lock of a release");
        lock
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("events.lock.json")
    }

    fn text(&self) -> String {
        std::fs::read_to_string(self.path()).expect("lock file")
    }
}

/// The report without the temporary directory's name.
fn report(error: &LockError, path: &Path) -> String {
    error
        .to_string()
        .replace(&path.display().to_string(), "events.lock.json")
}

fn notes(outcome: &LockOutcome) -> String {
    match outcome {
        LockOutcome::Updated { notes } => notes.join("\n"),
        other => panic!("expected an update, got {other:?}"),
    }
}

fn written(lock: &Lock) -> Vec<(String, u64)> {
    let lock: serde_json::Value = serde_json::from_str(&lock.text()).expect("lock JSON");
    assert_eq!(lock["format"], 3);
    lock["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["written"] == true)
        .map(|e| {
            (
                e["tag"].as_str().expect("tag").to_owned(),
                e["version"].as_u64().expect("version"),
            )
        })
        .collect()
}

#[test]
fn the_lock_records_the_written_version_and_read_newer() {
    let lock = Lock::of::<release_n_tolerant::Events>();
    assert_eq!(written(&lock), [("FundsDeposited".to_owned(), 1)]);
    assert!(
        lock.text().contains("\"read_newer\": true"),
        "{}",
        lock.text()
    );
}

#[test]
fn a_new_version_written_at_once_that_the_previous_release_cannot_read_fails_with_the_two_steps() {
    let lock = Lock::of::<release_n::Events>();
    let error = check_lock::<step_2::Events>(lock.path()).expect_err("unsafe to roll out");
    insta::assert_snapshot!(report(&error, &lock.path()));
    assert!(matches!(
        &error,
        LockError::Mismatch { only_new_versions: false, problems, .. }
            if problems.iter().any(|p| matches!(p, LockProblem::UnsafeRollout { version: 2, .. }))
    ));
    // `ES_UPDATE_LOCK=1` does not accept it, and writes nothing.
    let before = lock.text();
    update_lock::<step_2::Events>(lock.path()).expect_err("never accepted");
    assert_eq!(lock.text(), before);
}

#[test]
fn without_read_newer_even_a_fully_compatible_version_needs_two_steps() {
    let lock = Lock::of::<release_n::Events>();
    let error = check_lock::<with_reference_strict::Events>(lock.path())
        .expect_err("release N fails on v2");
    insta::assert_snapshot!(report(&error, &lock.path()));
}

#[test]
fn step_one_writes_the_previous_version_and_is_accepted() {
    let lock = Lock::of::<release_n::Events>();
    let error = check_lock::<step_1::Events>(lock.path()).expect_err("a new version to accept");
    insta::assert_snapshot!(report(&error, &lock.path()));
    let outcome = update_lock::<step_1::Events>(lock.path()).expect("accepted");
    assert_eq!(
        written(&lock),
        [("FundsDeposited".to_owned(), 1)],
        "still writes v1"
    );
    assert!(notes(&outcome).contains("is written as FundsDeposited v1 (`write_as`)"));
    assert_eq!(
        check_lock::<step_1::Events>(lock.path()).expect("passes"),
        LockOutcome::Unchanged
    );
}

#[test]
fn step_two_writes_the_new_version_once_the_lock_has_it() {
    let lock = Lock::of::<release_n::Events>();
    update_lock::<step_1::Events>(lock.path()).expect("step 1 accepted");
    let error = check_lock::<step_2::Events>(lock.path()).expect_err("the written version changed");
    insta::assert_snapshot!(report(&error, &lock.path()));
    update_lock::<step_2::Events>(lock.path()).expect("accepted");
    assert_eq!(written(&lock), [("FundsDeposited".to_owned(), 2)]);
    assert_eq!(
        check_lock::<step_2::Events>(lock.path()).expect("passes"),
        LockOutcome::Unchanged
    );
}

#[test]
fn a_version_that_fits_a_tolerant_previous_release_ships_in_one_release() {
    let lock = Lock::of::<release_n_tolerant::Events>();
    let error = check_lock::<with_reference::Events>(lock.path()).expect_err("to accept");
    insta::assert_snapshot!(report(&error, &lock.path()));
    update_lock::<with_reference::Events>(lock.path()).expect("accepted");
    assert_eq!(written(&lock), [("FundsDeposited".to_owned(), 2)]);
}

#[test]
fn a_renamed_optional_field_does_not_fit_even_with_read_newer() {
    let lock = Lock::of::<release_n_tolerant::Events>();
    let error = check_lock::<memo_renamed::Events>(lock.path()).expect_err("would default");
    insta::assert_snapshot!(report(&error, &lock.path()));
    update_lock::<memo_renamed::Events>(lock.path()).expect_err("never accepted");
}

#[test]
fn turning_read_newer_on_is_a_reviewed_change() {
    let lock = Lock::of::<release_n::Events>();
    let error = check_lock::<release_n_tolerant::Events>(lock.path()).expect_err("to accept");
    insta::assert_snapshot!(report(&error, &lock.path()));
    update_lock::<release_n_tolerant::Events>(lock.path()).expect("accepted");
    assert_eq!(
        check_lock::<release_n_tolerant::Events>(lock.path()).expect("passes"),
        LockOutcome::Unchanged
    );
}

#[test]
fn a_lock_of_format_1_reads_each_chain_as_writing_its_latest_version() {
    let lock = Lock::of::<release_n::Events>();
    let old = lock
        .text()
        .replace("\"format\": 3", "\"format\": 1")
        .replace(",\n      \"written\": true", "");
    assert!(!old.contains("written"), "{old}");
    std::fs::write(lock.path(), &old).expect("write");
    assert_eq!(
        check_lock::<release_n::Events>(lock.path()).expect("unchanged code passes"),
        LockOutcome::Unchanged
    );
    assert_eq!(lock.text(), old, "and the file is left as it is");
    let error = check_lock::<step_2::Events>(lock.path()).expect_err("unsafe");
    assert!(
        report(&error, &lock.path()).contains("✗ FundsDeposited v2 would be written at once"),
        "{error}"
    );
    update_lock::<step_1::Events>(lock.path()).expect("step 1 accepted");
    assert_eq!(written(&lock), [("FundsDeposited".to_owned(), 1)]);
}

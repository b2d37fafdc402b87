//! Arbitrary bytes as a schema lock file, checked against the order domain's events
//! ([`LockedOrderEvent`]):
//! `check_lock`, then `update_lock`. Never a panic; a lock that `update_lock` accepted
//! (and rewrote) then checks unchanged.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use es_core::schema::{check_lock, update_lock, LockOutcome, UPDATE_ENV};
use es_fuzz::{scratch_dir, LockedOrderEvent};
use libfuzzer_sys::fuzz_target;

fn lock_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        // `check_lock` must only check, whatever the environment of the run.
        std::env::remove_var(UPDATE_ENV);
        scratch_dir("schema-lock").join("events.lock.json")
    })
}

fuzz_target!(|data: &[u8]| {
    let path = lock_path();
    std::fs::write(path, data).expect("write the scratch lock");
    let _ = check_lock::<LockedOrderEvent>(path);
    if update_lock::<LockedOrderEvent>(path).is_ok() {
        let outcome = check_lock::<LockedOrderEvent>(path);
        assert!(
            matches!(outcome, Ok(LockOutcome::Unchanged)),
            "a lock update_lock wrote does not check unchanged: {outcome:?}"
        );
    }
});

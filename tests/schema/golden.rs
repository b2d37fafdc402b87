//! Golden fixtures: one sample payload per published (tag, version) of the account events,
//! and what each upcasts to today, pinned by an insta snapshot.

use es_core::schema::{golden_fixtures, GoldenError};
use es_examples::account::AccountEvent;

#[test]
fn every_published_account_event_version_upcasts_as_pinned() {
    let replayed =
        golden_fixtures::<AccountEvent>("fixtures/golden/account").expect("all samples decode");
    insta::assert_json_snapshot!(replayed);
}

#[test]
fn a_version_without_a_sample_is_named() {
    let dir = std::env::temp_dir().join(format!("es-golden-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("FundsWithdrawn.v1.json"), r#"{"amount": 1}"#).expect("write");
    let error = golden_fixtures::<AccountEvent>(&dir).expect_err("samples are missing");
    let _ = std::fs::remove_dir_all(&dir);
    match &error {
        GoldenError::Missing { missing, .. } => assert_eq!(
            missing,
            &[
                "AccountCreated v1",
                "AccountOpened v2",
                "AccountOpened v3",
                "FundsDeposited v1",
                "FundsDeposited v2"
            ]
        ),
        other => panic!("expected Missing, got {other}"),
    }
}

#[test]
fn the_debug_of_a_golden_error_reads_like_its_display_with_its_cause() {
    let dir = std::env::temp_dir().join(format!("es-golden-absent-{}", std::process::id()));
    let error = golden_fixtures::<AccountEvent>(&dir).expect_err("the directory does not exist");
    let cause = std::error::Error::source(&error)
        .expect("an I/O error carries its cause")
        .to_string();
    assert_eq!(
        format!("{error:?}"),
        format!("{error}: {cause}"),
        "what `expect` prints is the message and its cause, not a struct dump"
    );

    let dir = std::env::temp_dir().join(format!("es-golden-debug-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let error = golden_fixtures::<AccountEvent>(&dir).expect_err("samples are missing");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(format!("{error:?}"), error.to_string());
}

mod with_removals {
    use es_core::Event;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "Deposited", version = 1)]
    pub struct Deposited {
        pub amount: u64,
    }

    #[derive(Debug, Event)]
    #[event(removed("Audited", ("Closing", 2)))]
    pub enum Events {
        Deposited(Deposited),
    }
}

#[test]
fn a_removed_tag_or_version_needs_no_sample_and_one_given_decodes_into_nothing() {
    let dir = std::env::temp_dir().join(format!("es-golden-removed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let missing = golden_fixtures::<with_removals::Events>(&dir).expect_err("Deposited v1");
    assert!(
        matches!(&missing, GoldenError::Missing { missing, .. } if missing == &["Deposited v1"]),
        "only the typed version needs a sample: {missing}"
    );
    assert!(!missing.to_string().contains("v0"), "{missing}");

    std::fs::write(dir.join("Deposited.v1.json"), r#"{"amount": 1}"#).expect("write");
    let pinned = golden_fixtures::<with_removals::Events>(&dir).expect("no sample of a removal");
    assert_eq!(pinned.as_array().map(Vec::len), Some(1));

    std::fs::write(dir.join("Audited.v4.json"), r#"{"by": "x"}"#).expect("write");
    std::fs::write(dir.join("Closing.v2.json"), "{}").expect("write");
    let pinned = golden_fixtures::<with_removals::Events>(&dir).expect("samples of removals");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        pinned,
        serde_json::json!([
            { "sample": { "type": "Audited", "version": 4, "payload": { "by": "x" } }, "current": [] },
            { "sample": { "type": "Closing", "version": 2, "payload": {} }, "current": [] },
            {
                "sample": { "type": "Deposited", "version": 1, "payload": { "amount": 1 } },
                "current": [{ "type": "Deposited", "version": 1, "payload": { "amount": 1 } }]
            },
        ])
    );
}

//! Looking back without rewriting: state as of a global position or a moment, what-if replays
//! that leave events out, and an audit trail with correlation and causation ids.

use std::time::{Duration, SystemTime};

use es_core::metadata::{CAUSATION_ID, CORRELATION_ID};
use es_core::{EventStore, ExpectedVersion, MemoryStore, NewEvent, Repository};
use es_examples::account::{Account, AccountEvent, FundsDeposited, FundsWithdrawn};
use es_examples::legacy_log::append_legacy_bank_log;
use serde_json::json;

/// Opens account `acc` with an event written before correlation ids existed: no metadata.
fn open_legacy_account(store: &MemoryStore, balance: u64) {
    let created = NewEvent::new(
        "AccountCreated",
        1,
        json!({ "owner": "ada", "balance": balance }),
    );
    store
        .append("acc", ExpectedVersion::NoStream, vec![created])
        .expect("append");
}

fn legacy_repo() -> Repository<Account, MemoryStore> {
    let store = MemoryStore::new();
    append_legacy_bank_log(&store).expect("legacy log");
    Repository::new(store)
}

#[test]
fn load_as_of_position_replays_the_stream_up_to_a_global_position() {
    // acc-001's events sit at positions 1 (opened, 100), 3 (withdraw 30), 5 (deposit `amt` 50).
    let repo = legacy_repo();
    let at = |position| {
        let then = repo
            .load_as_of_position("acc-001", position)
            .expect("time travel");
        (then.version, then.state.balance)
    };
    assert_eq!(
        [0, 1, 2, 3, 4, 5, 9, u64::MAX].map(at),
        [
            (0, 0),
            (1, 100),
            (1, 100),
            (2, 70),
            (2, 70),
            (3, 120),
            (3, 120),
            (3, 120)
        ]
    );
    assert_eq!(
        at(u64::MAX),
        {
            let now = repo.load("acc-001").expect("load");
            (now.version, now.state.balance)
        },
        "the end of the log is the current state"
    );
}

#[test]
fn load_as_of_time_replays_the_events_recorded_until_then() {
    let store = MemoryStore::new();
    open_legacy_account(&store, 10);
    for amount in [5, 7] {
        // Distinct recording times, so "as of" each event is well defined.
        std::thread::sleep(Duration::from_millis(2));
        let deposit =
            NewEvent::encode(&AccountEvent::Deposited(FundsDeposited { amount })).expect("encode");
        store
            .append("acc", ExpectedVersion::Any, vec![deposit])
            .expect("append");
    }
    let recorded: Vec<SystemTime> = store
        .read_stream("acc", 1)
        .expect("read")
        .map(|e| e.expect("readable").recorded_at)
        .collect();
    assert!(
        recorded.windows(2).all(|w| w[0] < w[1]),
        "the store recorded increasing times"
    );

    let repo = Repository::<Account, _>::new(&store);
    let at = |time| {
        let then = repo.load_as_of_time("acc", time).expect("time travel");
        (then.version, then.state.balance)
    };
    let before_anything = recorded[0] - Duration::from_secs(1);
    let between_second_and_third =
        recorded[1] + (recorded[2].duration_since(recorded[1]).expect("ordered") / 2);
    assert_eq!(at(before_anything), (0, 0));
    assert_eq!(
        at(recorded[0]),
        (1, 10),
        "an event recorded at `time` counts"
    );
    assert_eq!(at(between_second_and_third), (2, 15));
    assert_eq!(at(recorded[2]), (3, 22));
    assert_eq!(at(SystemTime::now()), (3, 22));
}

#[test]
fn what_if_leaves_chosen_events_out_without_touching_the_log() {
    let repo = legacy_repo();
    let head = repo.store().head_position().expect("head");
    let stored: Vec<_> = repo
        .store()
        .read_stream("acc-001", 1)
        .expect("read")
        .collect::<Result<_, _>>()
        .expect("readable");

    // "What if the withdrawal of 30 (stream version 2) had not happened?"
    let without_withdrawal = repo
        .what_if("acc-001", |e| e.stream_version == 2)
        .expect("what if");
    assert_eq!(without_withdrawal.state.balance, 150);
    assert_eq!(
        (
            without_withdrawal.version,
            without_withdrawal.skipped.as_slice()
        ),
        (3, &[2][..])
    );

    // Chosen by event id instead: the legacy `amt` deposit.
    let deposit_id = stored[2].event_id;
    let without_deposit = repo
        .what_if("acc-001", |e| e.event_id == deposit_id)
        .expect("what if");
    assert_eq!(
        (without_deposit.state.balance, without_deposit.skipped),
        (70, vec![3])
    );

    let nothing_skipped = repo.what_if("acc-001", |_| false).expect("what if");
    assert!(nothing_skipped.skipped.is_empty());
    assert_eq!(
        nothing_skipped.state,
        repo.load("acc-001").expect("load").state
    );

    assert_eq!(
        repo.load("acc-001").expect("load").state.balance,
        120,
        "the real state is unchanged"
    );
    assert_eq!(repo.store().head_position().expect("head"), head);
    let after: Vec<_> = repo
        .store()
        .read_stream("acc-001", 1)
        .expect("read")
        .collect::<Result<_, _>>()
        .expect("readable");
    assert_eq!(after, stored, "the log is unchanged");
}

#[test]
fn history_lists_each_event_in_order_with_when_and_its_correlation_and_causation_ids() {
    let store = MemoryStore::new();
    open_legacy_account(&store, 100);
    let request = NewEvent::encode(&AccountEvent::Withdrawn(FundsWithdrawn { amount: 30 }))
        .expect("encode")
        .with_correlation_id("req-7")
        .with_metadata("user", json!("clerk-3"));
    store
        .append("acc", ExpectedVersion::Exact(1), vec![request])
        .expect("append");

    let repo = Repository::<Account, _>::new(&store);
    let withdrawal = repo.history("acc").expect("history").remove(1);
    let fee = NewEvent::encode(&AccountEvent::Withdrawn(FundsWithdrawn { amount: 1 }))
        .expect("encode")
        .caused_by(&withdrawal);
    store
        .append("acc", ExpectedVersion::Exact(2), vec![fee])
        .expect("append");

    let history = repo.history("acc").expect("history");
    let trail: Vec<_> = history
        .iter()
        .map(|e| {
            (
                e.stream_version,
                e.position,
                e.correlation_id().map(str::to_owned),
                e.causation_id().map(str::to_owned),
            )
        })
        .collect();
    let withdrawal_id = withdrawal.event_id.to_string();
    assert_eq!(
        trail,
        [
            (1, 1, None, None),
            (2, 2, Some("req-7".to_owned()), None),
            (3, 3, Some("req-7".to_owned()), Some(withdrawal_id.clone())),
        ]
    );
    assert!(
        history
            .windows(2)
            .all(|w| w[0].recorded_at <= w[1].recorded_at),
        "in the order recorded"
    );
    assert_eq!(
        history[0].event,
        AccountEvent::Opened(es_examples::account::AccountOpened {
            owner: "ada".into(),
            initial_deposit: 100,
            currency: "EUR".into(),
        }),
        "legacy events appear in today's types"
    );
    assert_eq!(history[1].metadata["user"], json!("clerk-3"));
    assert_eq!(history[2].metadata[CAUSATION_ID], json!(withdrawal_id));
    assert_eq!(history[2].metadata[CORRELATION_ID], json!("req-7"));
}

#[test]
fn an_event_caused_by_one_without_a_correlation_id_starts_the_chain_at_its_cause() {
    let store = MemoryStore::new();
    open_legacy_account(&store, 1);
    let repo = Repository::<Account, _>::new(&store);
    let cause = repo.history("acc").expect("history").remove(0);
    let reaction = NewEvent::new("FundsDeposited", 2, json!({ "amount": 1 })).caused_by(&cause);
    let cause_id = cause.event_id.to_string();
    assert_eq!(reaction.correlation_id(), Some(cause_id.as_str()));
    assert_eq!(reaction.causation_id(), Some(cause_id.as_str()));
}

#[test]
fn history_keeps_the_stored_tag_and_version_beside_the_decoded_event() {
    // acc-001: AccountCreated v1 (opened, 100), FundsWithdrawn v1 (30), FundsDeposited v1 (`amt` 50).
    let repo = legacy_repo();
    let history = repo.history("acc-001").expect("history");
    let audit: Vec<(String, &str, u32, bool)> = history
        .iter()
        .map(|entry| {
            (
                entry.stored_as(),
                es_core::Event::event_type(&entry.event),
                es_core::Event::event_version(&entry.event),
                entry.was_upcast(),
            )
        })
        .collect();
    assert_eq!(
        audit,
        [
            ("AccountCreated v1".to_owned(), "AccountOpened", 3, true),
            ("FundsWithdrawn v1".to_owned(), "FundsWithdrawn", 1, false),
            ("FundsDeposited v1".to_owned(), "FundsDeposited", 2, true),
        ]
    );
    let stored: Vec<_> = repo
        .store()
        .read_stream("acc-001", 1)
        .expect("read")
        .collect::<Result<_, _>>()
        .expect("readable");
    for (entry, stored) in history.iter().zip(&stored) {
        assert_eq!(
            (entry.stored_type.as_str(), entry.stored_version),
            (stored.event_type.as_str(), stored.schema_version)
        );
        assert_eq!(
            entry.event_id, stored.event_id,
            "the envelope is the stored event's"
        );
    }
    let envelope = history[2].clone().into_envelope();
    assert_eq!(
        envelope.event,
        AccountEvent::Deposited(FundsDeposited { amount: 50 })
    );
}

#[test]
fn what_if_decoded_selects_events_by_their_decoded_type_whatever_they_are_stored_as() {
    let store = MemoryStore::new();
    open_legacy_account(&store, 100);
    let legacy_deposit = NewEvent::new("FundsDeposited", 1, json!({ "amt": 5 }));
    let deposit =
        NewEvent::encode(&AccountEvent::Deposited(FundsDeposited { amount: 7 })).expect("encode");
    let withdrawal =
        NewEvent::encode(&AccountEvent::Withdrawn(FundsWithdrawn { amount: 30 })).expect("encode");
    store
        .append(
            "acc",
            ExpectedVersion::Exact(1),
            vec![legacy_deposit, deposit, withdrawal],
        )
        .expect("append");
    let repo = Repository::<Account, _>::new(&store);
    let head = store.head_position().expect("head");

    let no_deposits = repo
        .what_if_decoded("acc", |e| matches!(e, AccountEvent::Deposited(_)))
        .expect("what if");
    assert_eq!(
        (
            no_deposits.state.balance,
            no_deposits.version,
            no_deposits.skipped
        ),
        (70, 4, vec![2, 3]),
        "both deposits are left out, the legacy v1 and the current one"
    );

    // By stored tag and version, the old form picks only the current one.
    let by_stored_version = repo
        .what_if("acc", |e| {
            e.event_type == "FundsDeposited" && e.schema_version == 2
        })
        .expect("what if");
    assert_eq!(
        (by_stored_version.state.balance, by_stored_version.skipped),
        (75, vec![3])
    );

    let small_deposits = repo
        .what_if_decoded(
            "acc",
            |e| matches!(e, AccountEvent::Deposited(d) if d.amount < 6),
        )
        .expect("what if");
    assert_eq!(
        (small_deposits.state.balance, small_deposits.skipped),
        (77, vec![2])
    );

    assert_eq!(repo.load("acc").expect("load").state.balance, 82);
    assert_eq!(
        store.head_position().expect("head"),
        head,
        "nothing written"
    );
}

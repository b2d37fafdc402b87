//! Backward compatibility: legacy event logs checked in under `fixtures/` replay into today's
//! types, and what they become is pinned by insta snapshots (review changes with
//! `cargo insta review`).

use es_examples::account::AccountEvent;
use es_tests::replay::{load_fixture, replay};

#[test]
fn bank_log_of_2019_replays_into_current_events() {
    let store = load_fixture(include_str!("../fixtures/bank_legacy.jsonl"));
    insta::assert_json_snapshot!(replay::<AccountEvent>(&store));
}

#[test]
fn bank_log_of_2019_replays_to_the_same_balances() {
    use es_core::Repository;
    use es_examples::account::Account;
    let repo =
        Repository::<Account, _>::new(load_fixture(include_str!("../fixtures/bank_legacy.jsonl")));
    let balances: Vec<(String, u64, String)> = ["acc-001", "acc-002", "acc-003"]
        .iter()
        .map(|id| {
            let loaded = repo.load(id).expect("load");
            (
                (*id).to_owned(),
                loaded.state.balance,
                loaded.state.currency,
            )
        })
        .collect();
    assert_eq!(
        balances,
        [
            ("acc-001".into(), 120, "EUR".into()),
            ("acc-002".into(), 15, "EUR".into()),
            ("acc-003".into(), 7, "GBP".into()),
        ]
    );
}

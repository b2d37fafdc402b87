//! One legacy log per kind of schema change (`fixtures/<kind>.jsonl`), replayed into today's
//! `OrderEvent`s; what each stored event becomes is pinned by an insta snapshot (review changes
//! with `cargo insta review`). The order domain, with a table of its changes, is
//! `es_tests::order`.

use es_core::schema::fingerprint;
use es_core::Decoding;
use es_core::Event;
use es_tests::order::OrderEvent;
use es_tests::replay::{load_fixture, replay};
use serde_json::{json, Value};

fn replay_fixture(text: &str) -> Value {
    replay::<OrderEvent>(&load_fixture(text))
}

#[test]
fn field_added_with_default() {
    insta::assert_json_snapshot!(replay_fixture(include_str!(
        "../fixtures/field_added_with_default.jsonl"
    )));
}

#[test]
fn field_rename() {
    insta::assert_json_snapshot!(replay_fixture(include_str!(
        "../fixtures/field_rename.jsonl"
    )));
}

#[test]
fn type_change() {
    insta::assert_json_snapshot!(replay_fixture(include_str!(
        "../fixtures/type_change.jsonl"
    )));
}

#[test]
fn nested_restructure() {
    insta::assert_json_snapshot!(replay_fixture(include_str!(
        "../fixtures/nested_restructure.jsonl"
    )));
}

#[test]
fn tag_rename() {
    insta::assert_json_snapshot!(replay_fixture(include_str!("../fixtures/tag_rename.jsonl")));
}

#[test]
fn multi_step_chain() {
    insta::assert_json_snapshot!(replay_fixture(include_str!(
        "../fixtures/multi_step_chain.jsonl"
    )));
}

#[test]
fn split() {
    insta::assert_json_snapshot!(replay_fixture(include_str!("../fixtures/split.jsonl")));
}

#[test]
fn removal() {
    insta::assert_json_snapshot!(replay_fixture(include_str!("../fixtures/removal.jsonl")));
}

#[test]
fn context_aware() {
    insta::assert_json_snapshot!(replay_fixture(include_str!(
        "../fixtures/context_aware.jsonl"
    )));
}

/// Every stored (tag, version) the enum decodes, how, and its schema: the list a schema lock
/// records.
#[test]
fn decodable_versions_list_every_stored_form_with_its_schema() {
    let listed: Vec<Value> = OrderEvent::decodable_versions()
        .iter()
        .map(|info| {
            let schema = info.json_schema();
            let decoding = match info.decoding {
                Decoding::Typed => "typed".to_owned(),
                Decoding::RawUpcast { upcaster } => format!("raw upcast by {upcaster}"),
                Decoding::Removed => "removed".to_owned(),
                Decoding::RemovedEveryVersion => "removed, every version".to_owned(),
                _ => "unknown".to_owned(),
            };
            json!({
                "tag": info.tag,
                "version": info.stored_version(),
                "rust_type": info.rust_type,
                "decoding": decoding,
                "schema_title": schema.get("title"),
                "schema_fingerprint": fingerprint(&schema),
            })
        })
        .collect();
    insta::assert_json_snapshot!(listed);
}

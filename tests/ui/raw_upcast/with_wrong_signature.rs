use es_core::RawEvent;
use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "ItemAdded", version = 1)]
struct ItemAdded {
    sku: String,
}

// Forgets the stored event and returns one event instead of a list.
fn split_items(raw: RawEvent) -> RawEvent {
    raw
}

#[derive(Event)]
#[event(raw_upcast(from = ("ItemsAdded", 1), with = split_items))]
enum OrderEvent {
    ItemAdded(ItemAdded),
}

fn main() {}

use es_core::RawEvent;
use es_core::{Event, StoredEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "ItemAdded", version = 1)]
struct ItemAdded {
    sku: String,
}

fn split_items(raw: RawEvent, _: &StoredEvent) -> Result<Vec<RawEvent>> {
    Ok(vec![raw])
}

// ("ItemAdded", 1) is decoded by the `ItemAdded` chain already.
#[derive(Event)]
#[event(raw_upcast(from = ("ItemAdded", 1), with = split_items))]
enum OrderEvent {
    ItemAdded(ItemAdded),
}

fn main() {}

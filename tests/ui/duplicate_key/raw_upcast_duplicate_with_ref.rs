use es_core::RawEvent;
use es_core::{Event, StoredEventRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "ItemAdded", version = 1)]
struct ItemAdded {
    sku: String,
}

fn split_items(raw: RawEvent, _: &StoredEventRef<'_>) -> Result<Vec<RawEvent>> {
    Ok(vec![raw])
}

#[derive(Event)]
#[event(raw_upcast(from = ("ItemsAdded", 1), with_ref = split_items, with_ref = split_items))]
enum OrderEvent {
    ItemAdded(ItemAdded),
}

fn main() {}

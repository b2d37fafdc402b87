use es_core::{Event, RawEvent, StoredEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "ItemAdded", version = 1)]
struct ItemAdded {
    sku: String,
}

// An upcaster given the owned stored event, registered as lent.
fn split_items(
    raw: RawEvent,
    _: &StoredEvent,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    Ok(vec![raw])
}

#[derive(Event)]
#[event(raw_upcast(from = ("ItemsAdded", 1), with_ref = split_items))]
enum OrderEvent {
    ItemAdded(ItemAdded),
}

fn main() {}

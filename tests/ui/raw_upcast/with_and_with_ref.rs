use es_core::{Event, RawEvent, StoredEvent, StoredEventRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "ItemAdded", version = 1)]
struct ItemAdded {
    sku: String,
}

type Upcast = Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>>;

fn split_items(raw: RawEvent, _: &StoredEvent) -> Upcast {
    Ok(vec![raw])
}

fn split_items_lent(raw: RawEvent, _: &StoredEventRef<'_>) -> Upcast {
    Ok(vec![raw])
}

// One stored (tag, version) has one raw upcaster, of one form.
#[derive(Event)]
#[event(raw_upcast(from = ("ItemsAdded", 1), with = split_items, with_ref = split_items_lent))]
enum OrderEvent {
    ItemAdded(ItemAdded),
}

fn main() {}

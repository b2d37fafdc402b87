use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", version = 1)]
struct AccountOpenedV1 {
    owner: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", version = 2, upcast_from = "AccountOpenedV1")]
struct AccountOpened {
    owner: String,
}

fn main() {}

use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", version = "2")]
struct AccountOpened {
    owner: String,
}

fn main() {}

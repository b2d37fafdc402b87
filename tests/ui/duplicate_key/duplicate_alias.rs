use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", alias = "AccountCreated", alias = "AccountCreated")]
struct AccountOpened {
    owner: String,
}

fn main() {}

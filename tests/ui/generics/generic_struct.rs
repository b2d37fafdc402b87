use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "Measured", version = 1)]
struct Measured<T> {
    value: T,
}

fn main() {}

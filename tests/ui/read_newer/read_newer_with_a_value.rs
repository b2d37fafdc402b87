use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 2, read_newer = true)]
struct FundsDeposited {
    amount: u64,
}

fn main() {}

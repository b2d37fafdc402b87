use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 1, removed("MoneyIn"))]
struct FundsDeposited {
    amount: u64,
}

fn main() {}

use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 1)]
struct FundsDeposited {
    #[event(name = "amt")]
    amount: u64,
}

fn main() {}

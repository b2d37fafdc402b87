use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 1)]
struct FundsDeposited {
    amount: u64,
}

// `removed` was meant.
#[derive(Event)]
#[event(remove("CartViewed"))]
enum AccountEvent {
    Deposited(FundsDeposited),
}

fn main() {}

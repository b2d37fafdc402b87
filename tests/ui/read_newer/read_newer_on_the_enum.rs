use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 2)]
struct FundsDeposited {
    amount: u64,
}

#[derive(Event)]
#[event(read_newer)]
enum AccountEvent {
    Deposited(FundsDeposited),
}

fn main() {}

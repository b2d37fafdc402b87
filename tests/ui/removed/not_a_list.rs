use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 1)]
struct FundsDeposited {
    amount: u64,
}

#[derive(Event)]
#[event(removed = "StatementPrinted")]
enum AccountEvent {
    Deposited(FundsDeposited),
}

fn main() {}

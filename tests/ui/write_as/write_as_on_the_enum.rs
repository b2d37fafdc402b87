use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 1)]
struct FundsDepositedV1 {
    amt: u64,
}

#[derive(Event)]
#[event(write_as = FundsDepositedV1)]
enum AccountEvent {
    Deposited(FundsDepositedV1),
}

fn main() {}

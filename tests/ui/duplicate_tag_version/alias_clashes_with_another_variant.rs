use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 1)]
struct FundsDeposited {
    amount: u64,
}

// An old importer wrote deposits as "MoneyIn"; a new event type reuses the tag.
#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 2, upcast_from = FundsDeposited, alias = "MoneyIn")]
struct FundsDepositedV2 {
    amount: u64,
}

impl From<FundsDeposited> for FundsDepositedV2 {
    fn from(v1: FundsDeposited) -> Self {
        Self { amount: v1.amount }
    }
}

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "MoneyIn", version = 2)]
struct MoneyIn {
    cents: u64,
}

#[derive(Event)]
enum AccountEvent {
    Deposited(FundsDepositedV2),
    MoneyIn(MoneyIn),
}

fn main() {}

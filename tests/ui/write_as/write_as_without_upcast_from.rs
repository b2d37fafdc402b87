use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 1)]
struct FundsDepositedV1 {
    amt: u64,
}

#[derive(Clone, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 2, write_as = FundsDepositedV1)]
struct FundsDeposited {
    amount: u64,
}

impl From<FundsDeposited> for FundsDepositedV1 {
    fn from(v2: FundsDeposited) -> Self {
        Self { amt: v2.amount }
    }
}

fn main() {}

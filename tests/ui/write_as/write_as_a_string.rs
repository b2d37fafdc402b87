use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 1)]
struct FundsDepositedV1 {
    amt: u64,
}

#[derive(Clone, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 2, upcast_from = FundsDepositedV1, write_as = "FundsDepositedV1")]
struct FundsDeposited {
    amount: u64,
}

impl From<FundsDepositedV1> for FundsDeposited {
    fn from(v1: FundsDepositedV1) -> Self {
        Self { amount: v1.amt }
    }
}

fn main() {}

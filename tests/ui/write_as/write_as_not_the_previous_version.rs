use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 1)]
struct FundsDepositedV1 {
    amt: u64,
}

#[derive(Clone, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 2, upcast_from = FundsDepositedV1)]
struct FundsDepositedV2 {
    amount: u64,
}

impl From<FundsDepositedV1> for FundsDepositedV2 {
    fn from(v1: FundsDepositedV1) -> Self {
        Self { amount: v1.amt }
    }
}

#[derive(Clone, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 3, upcast_from = FundsDepositedV2, write_as = FundsDepositedV1)]
struct FundsDeposited {
    cents: u64,
}

impl From<FundsDepositedV2> for FundsDeposited {
    fn from(v2: FundsDepositedV2) -> Self {
        Self { cents: v2.amount }
    }
}

impl From<FundsDeposited> for FundsDepositedV1 {
    fn from(v3: FundsDeposited) -> Self {
        Self { amt: v3.cents }
    }
}

fn main() {}

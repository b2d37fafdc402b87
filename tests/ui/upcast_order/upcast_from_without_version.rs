use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", version = 1)]
struct AccountOpenedV1 {
    owner: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", upcast_from = AccountOpenedV1)]
struct AccountOpened {
    owner: String,
}

impl From<AccountOpenedV1> for AccountOpened {
    fn from(v1: AccountOpenedV1) -> Self {
        Self { owner: v1.owner }
    }
}

fn main() {}

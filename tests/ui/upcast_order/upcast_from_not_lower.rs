use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", version = 2)]
struct AccountOpenedV2 {
    owner: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", version = 2, upcast_from = AccountOpenedV2)]
struct AccountOpened {
    owner: String,
    currency: String,
}

impl From<AccountOpenedV2> for AccountOpened {
    fn from(v: AccountOpenedV2) -> Self {
        Self { owner: v.owner, currency: String::new() }
    }
}

fn main() {}

use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "TaskAdded", version = 1)]
struct TaskAddedV1 {
    title: String,
}

// `try_upcast`, but no `impl TryFrom<TaskAddedV1> for TaskAdded`.
#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "TaskAdded", version = 2, upcast_from = TaskAddedV1, try_upcast)]
struct TaskAdded {
    title: String,
    due: Option<String>,
}

fn main() {}

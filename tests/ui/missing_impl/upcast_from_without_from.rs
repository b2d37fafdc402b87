use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "TaskAdded", version = 1)]
struct TaskAddedV1 {
    title: String,
}

// No `impl From<TaskAddedV1> for TaskAdded`.
#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "TaskAdded", version = 2, upcast_from = TaskAddedV1)]
struct TaskAdded {
    title: String,
    due: Option<String>,
}

fn main() {}

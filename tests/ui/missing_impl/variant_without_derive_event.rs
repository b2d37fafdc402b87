use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "TaskAdded", version = 1)]
struct TaskAdded {
    title: String,
}

// Serializable, but not an event: no `#[derive(Event)]`.
#[derive(Serialize, Deserialize, JsonSchema)]
struct TaskDone {
    title: String,
}

#[derive(Event)]
enum TaskEvent {
    Added(TaskAdded),
    Done(TaskDone),
}

fn main() {}

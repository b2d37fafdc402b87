use es_core::Event;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "TaskAdded", version = 1)]
struct TaskAddedV1 {
    title: String,
}

#[derive(Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "TaskAdded", version = 2, upcast_from = TaskAddedV1)]
struct TaskAdded {
    title: String,
    due: Option<String>,
}

impl From<TaskAddedV1> for TaskAdded {
    fn from(v1: TaskAddedV1) -> Self {
        Self { title: v1.title, due: None }
    }
}

// The old version kept as a variant of its own: stored v1 events already decode into `Added`.
#[derive(Event)]
enum TaskEvent {
    Old(TaskAddedV1),
    Added(TaskAdded),
}

fn main() {}

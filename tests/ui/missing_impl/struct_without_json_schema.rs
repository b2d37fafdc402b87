use es_core::Event;
use serde::{Deserialize, Serialize};

// `JsonSchema` is missing from the derives.
#[derive(Serialize, Deserialize, Event)]
#[event(name = "TaskAdded", version = 1)]
struct TaskAdded {
    title: String,
}

#[derive(Event)]
enum TaskEvent {
    Added(TaskAdded),
}

fn main() {}

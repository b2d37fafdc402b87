//! A to-do list, event-sourced with es-core: the events (one of them in three versions, one
//! from an older app under another tag, one removed), the aggregate, and a read model.

use std::collections::BTreeMap;
use std::path::PathBuf;

use es_core::{Aggregate, Envelope, Event, Projection, RawEvent, StoredEvent};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Version 1, as first published: a title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "TodoCreated", version = 1)]
pub struct TodoCreatedV1 {
    /// What to do.
    pub title: String,
}

/// Version 2 added an optional due date.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "TodoCreated", version = 2, upcast_from = TodoCreatedV1)]
pub struct TodoCreatedV2 {
    /// What to do.
    pub title: String,
    /// When it is due (`YYYY-MM-DD`), if ever.
    pub due: Option<String>,
}

impl From<TodoCreatedV1> for TodoCreatedV2 {
    fn from(v1: TodoCreatedV1) -> Self {
        Self {
            title: v1.title,
            due: None,
        }
    }
}

/// Version 3, current: tags.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "TodoCreated", version = 3, upcast_from = TodoCreatedV2)]
pub struct TodoCreated {
    /// What to do.
    pub title: String,
    /// When it is due (`YYYY-MM-DD`), if ever.
    pub due: Option<String>,
    /// Labels, such as `home` or `work`.
    pub tags: Vec<String>,
}

impl From<TodoCreatedV2> for TodoCreated {
    fn from(v2: TodoCreatedV2) -> Self {
        Self {
            title: v2.title,
            due: v2.due,
            tags: Vec::new(),
        }
    }
}

/// The to-do is done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "TodoCompleted", version = 1)]
pub struct TodoCompleted {}

/// `TaskAdded` v1, as the app before this one stored it: only a text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TaskAddedV1 {
    /// What to do.
    pub text: String,
}

/// Reads the older app's `TaskAdded` v1 as a `TodoCreated` v1, which upcasts from there.
///
/// # Errors
/// When the payload is not a `TaskAdded` v1.
pub fn task_added_to_todo_created(
    raw: RawEvent,
    _stored: &StoredEvent,
) -> Result<Vec<RawEvent>, Box<dyn std::error::Error + Send + Sync>> {
    let task: TaskAddedV1 = raw.payload.parse()?;
    Ok(vec![RawEvent::new(
        "TodoCreated",
        1,
        json!({ "title": task.text }),
    )])
}

/// Everything that happens to a to-do, in today's types.
#[derive(Debug, Clone, PartialEq, Event)]
#[event(removed("TodoViewed"))]
#[event(raw_upcast(from = ("TaskAdded", 1), with = task_added_to_todo_created, schema = TaskAddedV1))]
pub enum TodoEvent {
    /// A to-do was written down.
    Created(TodoCreated),
    /// It was done.
    Completed(TodoCompleted),
}

/// A to-do, as its events left it. Serializable, for snapshots.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Todo {
    /// What to do; empty until created.
    pub title: String,
    /// Its labels.
    pub tags: Vec<String>,
    /// Whether it is done.
    pub done: bool,
}

/// What can be asked of a to-do.
#[derive(Debug, Clone)]
pub enum TodoCommand {
    /// Write it down.
    Create {
        /// What to do.
        title: String,
        /// Labels.
        tags: Vec<String>,
    },
    /// Mark it done.
    Complete,
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TodoError {
    /// `Create` on a to-do that exists.
    AlreadyExists,
    /// `Complete` on a to-do never created.
    NoSuchTodo,
}

impl std::fmt::Display for TodoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TodoError::AlreadyExists => "the to-do exists already",
            TodoError::NoSuchTodo => "no such to-do",
        })
    }
}

impl std::error::Error for TodoError {}

impl Aggregate for Todo {
    type Event = TodoEvent;
    type Command = TodoCommand;
    type Error = TodoError;

    fn handle(&self, command: TodoCommand) -> Result<Vec<TodoEvent>, TodoError> {
        match command {
            TodoCommand::Create { .. } if !self.title.is_empty() => Err(TodoError::AlreadyExists),
            TodoCommand::Create { title, tags } => Ok(vec![TodoEvent::Created(TodoCreated {
                title,
                due: None,
                tags,
            })]),
            TodoCommand::Complete if self.title.is_empty() => Err(TodoError::NoSuchTodo),
            TodoCommand::Complete if self.done => Ok(vec![]),
            TodoCommand::Complete => Ok(vec![TodoEvent::Completed(TodoCompleted {})]),
        }
    }

    fn apply(&mut self, event: &TodoEvent) {
        match event {
            TodoEvent::Created(e) => {
                self.title.clone_from(&e.title);
                self.tags.clone_from(&e.tags);
            }
            TodoEvent::Completed(_) => self.done = true,
        }
    }
}

/// A read model: the open to-dos by stream, kept in a JSON file so it lasts as long as its
/// checkpoint in the event store. Applying an event twice changes nothing (at-least-once
/// delivery after a crash is harmless).
#[derive(Debug)]
pub struct OpenTodos {
    /// Where the model is saved.
    pub path: PathBuf,
    /// Open to-dos: stream id → title.
    pub open: BTreeMap<String, String>,
}

impl OpenTodos {
    /// The model saved at `path`, or an empty one.
    ///
    /// # Errors
    /// When the file exists and cannot be read as a model.
    pub fn load(path: impl Into<PathBuf>) -> std::io::Result<Self> {
        let path = path.into();
        let open = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        Ok(Self { path, open })
    }

    fn save(&self) -> std::io::Result<()> {
        let temp = self.path.with_extension("tmp");
        std::fs::write(&temp, serde_json::to_vec(&self.open)?)?;
        std::fs::rename(&temp, &self.path)
    }
}

impl Projection for OpenTodos {
    type Event = TodoEvent;
    type Error = std::io::Error;

    fn name(&self) -> &'static str {
        "open-todos"
    }

    fn apply(&mut self, envelope: &Envelope<TodoEvent>) -> Result<(), std::io::Error> {
        match &envelope.event {
            TodoEvent::Created(e) => self
                .open
                .insert(envelope.stream_id.clone(), e.title.clone()),
            TodoEvent::Completed(_) => self.open.remove(&envelope.stream_id),
        };
        self.save()
    }

    fn reset(&mut self) -> Result<(), std::io::Error> {
        self.open.clear();
        self.save()
    }
}

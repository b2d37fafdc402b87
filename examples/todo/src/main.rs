//! The to-do app: a log in `todo-data/events/` (or `<dir>/events/` for a directory given as
//! the argument), its read model in `open-todos.json` beside it. Running it again continues
//! the log.

use std::path::PathBuf;

use es_core::{
    EventStore, ExpectedVersion, FileStore, NewEvent, ProjectionRunner, Repository, Subscription,
    SubscriptionItem,
};
use serde_json::json;
use todo::{OpenTodos, Todo, TodoCommand, TodoEvent};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("todo-data"), PathBuf::from);
    let store = FileStore::open(dir.join("events"))?;

    // Events of the app before this one: a `TaskAdded` v1 and a `TodoViewed`, a tag removed
    // on purpose. Both stay in the log; the derive reads the first, skips the second.
    if store.stream_version("todo-1")? == 0 {
        let legacy = vec![
            NewEvent::new("TaskAdded", 1, json!({ "text": "water the plants" })),
            NewEvent::new("TodoViewed", 1, json!({ "by": "ada" })),
        ];
        store.append("todo-1", ExpectedVersion::NoStream, legacy)?;
    }

    // Commands through the repository, with a snapshot every 2 versions (FileStore keeps them).
    let repo = Repository::<Todo, _>::new(&store).snapshot_every(2);
    let id = format!("todo-{}", store.head_position()? + 1);
    let create = TodoCommand::Create {
        title: "write the README".into(),
        tags: vec!["work".into()],
    };
    repo.execute(&id, create)?;
    repo.execute(&id, TodoCommand::Complete)?;
    repo.execute("todo-1", TodoCommand::Complete)?;

    // Time travel: the to-do as of its first version, and its audit trail.
    let then = repo.load_at(&id, 1)?;
    println!(
        "{id} at version {}: done = {}",
        then.version, then.state.done
    );
    for entry in repo.history("todo-1")? {
        println!(
            "todo-1 v{}: {:?}, stored as {}",
            entry.stream_version,
            entry.event,
            entry.stored_as()
        );
    }

    // A projection with its checkpoint in the event store; the model is a file beside it,
    // as durable as the checkpoint, so the runner resumes where it stopped.
    let model = OpenTodos::load(dir.join("open-todos.json"))?;
    let mut runner = ProjectionRunner::new(&store, model, &store)?;
    let applied = runner.catch_up()?;
    println!(
        "open-todos: caught up over {applied} stored events, {} open",
        runner.projection().open.len()
    );

    // A subscription: the whole history decoded, then `CaughtUp` (then it would wait for
    // new events; this one stops there).
    let mut events = 0;
    for item in Subscription::<TodoEvent, _>::from_start(&store) {
        match item? {
            SubscriptionItem::Event(_) => events += 1,
            SubscriptionItem::CaughtUp { position } => {
                println!("subscription: {events} events up to position {position}");
                break;
            }
        }
    }
    Ok(())
}

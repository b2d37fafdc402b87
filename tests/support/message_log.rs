//! A `tracing` subscriber that collects the messages of events, for tests that check what a
//! library reports through `tracing`.

use std::sync::{Arc, Mutex};

/// Collects the messages of `tracing` events raised while it is the default subscriber
/// (`tracing::subscriber::with_default`).
#[derive(Clone, Default)]
pub struct MessageLog(Arc<Mutex<Vec<String>>>);

impl MessageLog {
    /// The messages collected so far.
    ///
    /// # Panics
    /// When a thread panicked while recording.
    #[must_use]
    pub fn messages(&self) -> Vec<String> {
        self.0.lock().expect("message log").clone()
    }
}

struct MessageVisitor<'a>(&'a mut String);

impl tracing::field::Visit for MessageVisitor<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for MessageLog {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut message = String::new();
        event.record(&mut MessageVisitor(&mut message));
        self.0.lock().expect("message log").push(message);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

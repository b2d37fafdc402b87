//! The threads that drive the store's connections, and the bridge from the synchronous API.
//!
//! The driver is asynchronous. The store owns a small Tokio runtime and hands each operation
//! to it, waiting on a plain channel for the answer. Waiting on a channel is allowed on any
//! thread, a Tokio worker's included, so the store's synchronous API never hits Tokio's
//! "cannot block the current thread from within a runtime" panic, whichever thread calls it.
//! (Async applications should still call it from `spawn_blocking`, so that a slow query does
//! not hold up their own tasks.)

use std::future::Future;
use std::sync::mpsc;

use crate::error::PgError;

/// A Tokio runtime owned by one store, shut down without blocking when the store is dropped.
pub(crate) struct Runtime {
    runtime: Option<tokio::runtime::Runtime>,
}

impl Runtime {
    pub(crate) fn new() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("es-postgres")
            .enable_all()
            .build()?;
        Ok(Self {
            runtime: Some(runtime),
        })
    }

    pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
        // `runtime` is `None` only inside `drop`.
        match &self.runtime {
            Some(runtime) => runtime.handle(),
            None => unreachable!("the runtime is taken only when the store is dropped"),
        }
    }

    /// Runs `work` on the store's threads and blocks the calling thread until it is done.
    pub(crate) fn run<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Result<T, PgError> {
        Self::wait(&self.start(work))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Dropping a runtime blocks, which panics inside another runtime (a store dropped
            // at the end of an async function); shutting down in the background does not.
            runtime.shutdown_background();
        }
    }
}

/// An answer that will arrive from the store's threads.
pub(crate) type Pending<T> = mpsc::Receiver<T>;

impl Runtime {
    /// Starts `work` on the store's threads without waiting; [`Runtime::wait`] takes the
    /// answer. Lets a reader fetch its next page while its caller works on the current one.
    pub(crate) fn start<T: Send + 'static>(
        &self,
        work: impl Future<Output = T> + Send + 'static,
    ) -> Pending<T> {
        let (done, answer) = mpsc::sync_channel(1);
        self.handle().spawn(async move {
            // The receiver is gone when a reader was dropped before taking its next page.
            let _ = done.send(work.await);
        });
        answer
    }

    /// Blocks until a started piece of work answers.
    pub(crate) fn wait<T>(pending: &Pending<T>) -> Result<T, PgError> {
        pending.recv().map_err(|_| PgError::Stopped)
    }
}

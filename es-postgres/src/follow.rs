//! Following the log across processes: `NOTIFY` after appends, `LISTEN` for waiters.
//!
//! A waiter in `wait_for_append` sleeps on an [`AppendSignal`]. Appends made through this
//! `PgStore` raise it directly; appends made anywhere else reach it through PostgreSQL: each
//! store that appended sends `NOTIFY` with its last position, after its commit and outside the
//! append's transaction (a `NOTIFY` inside it would serialise every append's commit on the
//! server's notification queue lock), and a store with waiters keeps one session `LISTEN`ing.
//! Notifications are hints: a waiter always reads the log itself before it returns, and looks
//! anyway now and then, so a lost notification delays it, never misleads it.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use es_core::store::backend::AppendSignal;
use tokio::sync::Notify;
use tokio_postgres::AsyncMessage;

use crate::error::PgError;
use crate::pool::Pool;
use crate::sql::Stmt;
use crate::PgStore;

/// How long the listener waits before it reconnects after losing its session.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

pub(crate) struct Follow {
    channel: String,
    /// The highest position this process has heard of, from its own appends or a notification.
    signal: AppendSignal,
    listener_started: AtomicBool,
    listening: AtomicBool,
    notifier_started: AtomicBool,
    /// The last position appended through this store and not yet announced.
    to_announce: AtomicU64,
    announce: Notify,
}

impl Follow {
    pub(crate) fn new(channel: String) -> Self {
        Self {
            channel,
            signal: AppendSignal::new(0),
            listener_started: AtomicBool::new(false),
            listening: AtomicBool::new(false),
            notifier_started: AtomicBool::new(false),
            to_announce: AtomicU64::new(0),
            announce: Notify::new(),
        }
    }

    /// The highest position heard of so far; pass it to [`Follow::wait`].
    pub(crate) fn seen(&self) -> u64 {
        self.signal.head()
    }

    /// Sleeps until a position beyond `seen` is heard of, or `timeout` ends.
    pub(crate) fn wait(&self, seen: u64, timeout: Duration) {
        let _ = self.signal.wait(seen, timeout);
    }

    /// Whether the `LISTEN` session is up, so waiters can trust notifications.
    pub(crate) fn is_listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    /// Starts the `LISTEN` session on first use; returns `self` to ask whether it is up.
    pub(crate) fn listen(&self, store: &PgStore) -> &Self {
        spawn_once(&self.listener_started, store, listen_forever);
        self
    }

    /// Records an append through this store: wakes local waiters now, and has the position
    /// announced to other processes.
    pub(crate) fn appended(&self, store: &PgStore, last_position: u64) {
        self.signal.notify(last_position);
        self.to_announce.fetch_max(last_position, Ordering::AcqRel);
        spawn_once(&self.notifier_started, store, announce_forever);
        self.announce.notify_one();
    }
}

/// Starts `task` on the store's threads, the first time only: `started` remembers.
fn spawn_once<F>(
    started: &AtomicBool,
    store: &PgStore,
    task: impl FnOnce(Arc<Follow>, Arc<Pool>) -> F,
) where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    if !started.swap(true, Ordering::AcqRel) {
        let follow = Arc::clone(&store.shared.follow);
        let pool = Arc::clone(&store.shared.pool);
        store.shared.runtime.handle().spawn(task(follow, pool));
    }
}

/// Sends one `NOTIFY` per burst of appends: appends that finish while one is on its way are
/// announced together by the next.
async fn announce_forever(follow: Arc<Follow>, pool: Arc<Pool>) {
    let mut announced = 0;
    loop {
        follow.announce.notified().await;
        let position = follow.to_announce.load(Ordering::Acquire);
        if position <= announced {
            continue;
        }
        match announce(&follow.channel, &pool, position).await {
            Ok(()) => announced = position,
            // Waiters elsewhere look again on their own; the next append announces anew.
            Err(error) => tracing::debug!(%error, "could not announce an append"),
        }
    }
}

async fn announce(channel: &str, pool: &Arc<Pool>, position: u64) -> Result<(), PgError> {
    let mut connection = pool.get().await?;
    let statement = match connection.statement(Stmt::Notify).await {
        Ok(statement) => statement,
        Err(source) => return Err(connection.fail("announce an append", source)),
    };
    let payload = position.to_string();
    match connection
        .client()
        .execute(&statement, &[&channel, &payload])
        .await
    {
        Ok(_) => Ok(()),
        Err(source) => Err(connection.fail("announce an append", source)),
    }
}

/// Keeps a session listening for as long as the store lives, reconnecting when it breaks.
async fn listen_forever(follow: Arc<Follow>, pool: Arc<Pool>) {
    loop {
        if let Err(error) = listen(&follow, &pool).await {
            tracing::debug!(%error, "the LISTEN session ended");
        }
        follow.listening.store(false, Ordering::Release);
        tokio::time::sleep(RECONNECT_DELAY).await;
    }
}

async fn listen(follow: &Arc<Follow>, pool: &Arc<Pool>) -> Result<(), PgError> {
    let (client, mut connection) = pool.connect_unspawned().await?;
    let listen = {
        let follow = Arc::clone(follow);
        let target = pool.target().to_owned();
        tokio::spawn(async move {
            let sql = format!("LISTEN {}", follow.channel);
            match client.batch_execute(&sql).await {
                Ok(()) => {
                    follow.listening.store(true, Ordering::Release);
                    // Keeps the session open: it ends when its connection does.
                    std::future::pending::<()>().await;
                    Ok(())
                }
                Err(source) => Err(PgError::Query {
                    target,
                    operation: "listen for appends".to_owned(),
                    source,
                }),
            }
        })
    };
    let ended = loop {
        match poll_fn(|cx| connection.poll_message(cx)).await {
            Some(Ok(AsyncMessage::Notification(notification))) => {
                if let Ok(position) = notification.payload().parse::<u64>() {
                    follow.signal.notify(position);
                }
            }
            Some(Ok(_)) => {}
            Some(Err(source)) => {
                break Err(PgError::Query {
                    target: pool.target().to_owned(),
                    operation: "listen for appends".to_owned(),
                    source,
                })
            }
            None => break Ok(()),
        }
    };
    listen.abort();
    ended
}

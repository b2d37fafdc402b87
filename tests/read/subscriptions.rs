//! Subscriptions: history decoded through the one decode point, a caught-up signal, then live
//! events delivered as soon as the store is appended to; clean stops and exact resumption.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use es_core::store::backend::EventIter;
use es_core::{
    AppendError, AppendOutcome, EventStore, ExpectedVersion, MemoryStore, NewEvent, ReadError,
    StopHandle, Subscription, SubscriptionError, SubscriptionItem,
};
use es_examples::account::{AccountEvent, FundsDeposited};
use es_examples::legacy_log::append_legacy_bank_log;
use serde_json::json;

/// So long that only a wakeup from the store, not the end of a wait, can explain a prompt
/// delivery.
const NO_TIMER_WAKEUP: Duration = Duration::from_secs(30);
/// A generous bound for "promptly".
const PROMPTLY: Duration = Duration::from_secs(10);

type Item = Result<SubscriptionItem<AccountEvent>, SubscriptionError>;

fn deposit(amount: u64) -> NewEvent {
    NewEvent::encode(&AccountEvent::Deposited(FundsDeposited { amount })).expect("encode")
}

/// Stops `stop` after `limit` unless told first that the test is over: a broken wakeup fails
/// the test instead of hanging it.
fn watchdog(stop: StopHandle, limit: Duration) -> mpsc::Sender<()> {
    let (done, finished) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if finished.recv_timeout(limit).is_err() {
            stop.stop();
        }
    });
    done
}

fn positions(items: &[SubscriptionItem<AccountEvent>]) -> Vec<u64> {
    items
        .iter()
        .filter_map(|item| match item {
            SubscriptionItem::Event(e) => Some(e.position),
            SubscriptionItem::CaughtUp { .. } => None,
        })
        .collect()
}

#[test]
fn subscription_catches_up_on_legacy_history_then_signals_caught_up() {
    let store = MemoryStore::new();
    let head = append_legacy_bank_log(&store).expect("log");
    let mut subscription = Subscription::<AccountEvent, _>::from_start(&store);
    let items: Vec<_> = subscription
        .by_ref()
        .take(usize::try_from(head).expect("small") + 1)
        .collect::<Result<_, _>>()
        .expect("history decodes");
    assert_eq!(positions(&items), (1..=head).collect::<Vec<_>>());
    assert_eq!(
        items.last(),
        Some(&SubscriptionItem::CaughtUp { position: head })
    );
    // The v1 `amt` deposit at position 5 arrives upcast to today's `FundsDeposited`.
    let SubscriptionItem::Event(legacy) = &items[4] else {
        panic!("an event at position 5")
    };
    assert_eq!(
        legacy.event,
        AccountEvent::Deposited(FundsDeposited { amount: 50 })
    );
    assert_eq!(subscription.position(), head);
}

#[test]
fn subscription_delivers_an_event_appended_by_another_thread_promptly_without_polling() {
    let store = MemoryStore::new();
    store
        .append("acc-1", ExpectedVersion::NoStream, vec![deposit(1)])
        .expect("append");
    let mut subscription = Subscription::<AccountEvent, _>::from_start(&store)
        .with_stop_check_interval(NO_TIMER_WAKEUP);
    let done = watchdog(subscription.stop_handle(), NO_TIMER_WAKEUP);
    let history: Vec<Item> = subscription.by_ref().take(2).collect();
    assert!(matches!(
        history.last(),
        Some(Ok(SubscriptionItem::CaughtUp { position: 1 }))
    ));

    let (live, waited) = std::thread::scope(|scope| {
        scope.spawn(|| {
            // Let the consumer block in its wait first.
            std::thread::sleep(Duration::from_millis(50));
            store
                .append("acc-1", ExpectedVersion::Exact(1), vec![deposit(2)])
                .expect("live append");
        });
        let started = Instant::now();
        let live = subscription.next();
        (live, started.elapsed())
    });
    let _ = done.send(());
    match live {
        Some(Ok(SubscriptionItem::Event(e))) => {
            assert_eq!((e.position, e.stream_version), (2, 2));
            assert_eq!(
                e.event,
                AccountEvent::Deposited(FundsDeposited { amount: 2 })
            );
        }
        other => panic!("expected the live event, got {other:?}"),
    }
    assert!(
        waited < PROMPTLY,
        "woken by the append, not by a timer: waited {waited:?}"
    );
}

#[test]
fn a_stopped_subscription_ends_and_a_new_one_resumes_from_its_position_without_loss() {
    let store = MemoryStore::new();
    append_legacy_bank_log(&store).expect("log");
    let stop = StopHandle::new();
    let (caught_up, on_caught_up) = mpsc::channel();
    let (seen, resume_at) = std::thread::scope(|scope| {
        let consumer = scope.spawn(|| {
            let mut subscription =
                Subscription::<AccountEvent, _>::from_start(&store).with_stop_handle(stop.clone());
            let mut seen = Vec::new();
            for item in subscription.by_ref() {
                let item = item.expect("decodes");
                if matches!(item, SubscriptionItem::CaughtUp { .. }) {
                    caught_up.send(()).expect("the test waits for this");
                }
                seen.push(item);
            }
            (seen, subscription.position())
        });
        on_caught_up
            .recv_timeout(PROMPTLY)
            .expect("the consumer catches up");
        // The consumer now blocks waiting for appends; the stop ends it.
        stop.stop();
        consumer.join().expect("consumer thread ends once stopped")
    });
    assert_eq!(resume_at, 9);
    store
        .append("acc-002", ExpectedVersion::Any, vec![deposit(3)])
        .expect("append after the stop");

    let mut resumed = Subscription::<AccountEvent, _>::from_position(&store, resume_at + 1);
    let rest: Vec<_> = resumed
        .by_ref()
        .take_while(|item| !matches!(item, Ok(SubscriptionItem::CaughtUp { .. })))
        .collect::<Result<_, _>>()
        .expect("decodes");
    let mut all = positions(&seen);
    all.extend(positions(&rest));
    assert_eq!(
        all,
        (1..=10).collect::<Vec<_>>(),
        "each event exactly once across the stop"
    );
}

#[test]
fn a_stop_ends_the_subscription_at_once_even_with_events_read_ahead_and_it_resumes_at_the_first_undelivered(
) {
    let store = MemoryStore::new();
    append_legacy_bank_log(&store).expect("log");
    let mut subscription = Subscription::<AccountEvent, _>::from_start(&store);
    let Some(Ok(SubscriptionItem::Event(first))) = subscription.next() else {
        panic!("the first event of the log");
    };
    assert_eq!(first.position, 1);

    // The rest of the history is read ahead into the subscription's buffer by now.
    subscription.stop_handle().stop();
    let after_stop: Vec<_> = subscription.by_ref().collect();
    assert!(
        after_stop.is_empty(),
        "nothing is delivered once stopped, got {} items",
        after_stop.len()
    );
    assert_eq!(
        subscription.position(),
        1,
        "the buffered events stay undelivered: resuming starts after the last one delivered"
    );

    let resumed: Vec<_> = Subscription::<AccountEvent, _>::from_position(&store, 2)
        .take_while(|item| !matches!(item, Ok(SubscriptionItem::CaughtUp { .. })))
        .collect::<Result<_, _>>()
        .expect("decodes");
    assert_eq!(positions(&resumed), (2..=9).collect::<Vec<_>>());
}

#[test]
fn a_subscription_delivers_the_events_before_an_undecodable_one_then_stops_with_its_place() {
    let store = MemoryStore::new();
    store
        .append("acc-1", ExpectedVersion::NoStream, vec![deposit(1)])
        .expect("append");
    store
        .append(
            "acc-1",
            ExpectedVersion::Exact(1),
            vec![NewEvent::new("FundsDeposited", 9, json!({ "amount": 1 }))],
        )
        .expect("append an event from the future");
    store
        .append("acc-1", ExpectedVersion::Exact(2), vec![deposit(3)])
        .expect("append");
    let items: Vec<Item> = Subscription::<AccountEvent, _>::from_start(&store).collect();
    assert_eq!(items.len(), 2, "one event, then the error, then the end");
    assert!(matches!(&items[0], Ok(SubscriptionItem::Event(e)) if e.position == 1));
    let Err(error @ SubscriptionError::Decode(cause)) = &items[1] else {
        panic!("expected a decode error, got {:?}", items[1])
    };
    assert_eq!((cause.stream_id.as_str(), cause.position), ("acc-1", 2));
    assert_eq!(
        error.to_string(),
        "the subscription stopped at position 2: the event does not decode"
    );
}

/// A store that cannot notify: it keeps the trait's default `wait_for_append`.
struct NoNotifyStore(MemoryStore);

impl EventStore for NoNotifyStore {
    fn append(
        &self,
        stream_id: &str,
        expected: ExpectedVersion,
        events: Vec<NewEvent>,
    ) -> Result<AppendOutcome, AppendError> {
        self.0.append(stream_id, expected, events)
    }
    fn read_stream(&self, stream_id: &str, from_version: u64) -> Result<EventIter<'_>, ReadError> {
        self.0.read_stream(stream_id, from_version)
    }
    fn read_all(&self, from_position: u64) -> Result<EventIter<'_>, ReadError> {
        self.0.read_all(from_position)
    }
    fn stream_version(&self, stream_id: &str) -> Result<u64, ReadError> {
        self.0.stream_version(stream_id)
    }
    fn head_position(&self) -> Result<u64, ReadError> {
        self.0.head_position()
    }
}

#[test]
fn the_default_wait_for_append_polls_and_meets_the_same_contract() {
    use es_core::conformance as check;
    check::wait_for_append_returns_at_once_when_a_newer_event_exists(&NoNotifyStore(
        MemoryStore::new(),
    ));
    check::wait_for_append_times_out_with_the_head(&NoNotifyStore(MemoryStore::new()));
    check::wait_for_append_wakes_when_another_thread_appends(&NoNotifyStore(MemoryStore::new()));
}

#[test]
fn a_subscription_over_a_store_without_notification_still_delivers_live_events() {
    let store = NoNotifyStore(MemoryStore::new());
    let mut subscription = Subscription::<AccountEvent, _>::from_start(&store);
    let done = watchdog(subscription.stop_handle(), NO_TIMER_WAKEUP);
    assert!(matches!(
        subscription.next(),
        Some(Ok(SubscriptionItem::CaughtUp { position: 0 }))
    ));
    let live = std::thread::scope(|scope| {
        scope.spawn(|| {
            store
                .append("acc-1", ExpectedVersion::Any, vec![deposit(5)])
                .expect("append")
        });
        subscription.next()
    });
    let _ = done.send(());
    assert!(matches!(live, Some(Ok(SubscriptionItem::Event(e))) if e.position == 1));
}

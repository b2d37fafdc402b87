//! Append-to-subscriber latency across two stores.

#[allow(clippy::wildcard_imports)]
use super::*;

/// A `PgStore` appends single events at a steady pace; a second `PgStore` on the same schema
/// (as another process would open it) follows the log with a `Subscription`. Each event's
/// latency runs from the moment its `append` returned to the moment the subscription handed
/// it out; an event handed out before its `append` returned counts as negative.
pub(super) fn latency(scale: &Scale, schema: &BenchSchema, store: &PgStore) -> Vec<Row> {
    let warm_up = 10;
    let count = scale.latency_events;
    let follower = schema.store(2);
    let after = follower.head_position().expect("the log's head");
    let stream = "latency";
    let (delivered_tx, delivered_rx) = mpsc::channel::<(u64, Instant)>();
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let returned = std::thread::scope(|scope| {
        let follower = &follower;
        scope.spawn(move || {
            let subscription = Subscription::<ShopEvent, _>::from_position(follower, after + 1)
                .with_stop_check_interval(Duration::from_millis(50));
            let mut left = warm_up + count;
            for item in subscription {
                let at = Instant::now();
                match item.expect("the subscription reads the log") {
                    SubscriptionItem::CaughtUp { .. } => {
                        let _ = ready_tx.send(());
                    }
                    SubscriptionItem::Event(envelope) => {
                        let _ = delivered_tx.send((envelope.position, at));
                        left -= 1;
                        if left == 0 {
                            break;
                        }
                    }
                }
            }
        });
        ready_rx.recv().expect("the subscription catches up");
        // The subscription starts `LISTEN` when it first waits; the warm-up events cover the
        // rest of its start.
        std::thread::sleep(Duration::from_millis(200));
        let mut returned = Vec::new();
        let mut next = Instant::now();
        for i in 0..warm_up + count {
            let event = new_event(i, Generation::Current);
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
            next += scale.latency_interval;
            let outcome = store
                .append(stream, ExpectedVersion::Exact(i), vec![event])
                .expect("append to PostgreSQL");
            returned.push((outcome.first_position, Instant::now()));
        }
        returned
    });
    let delivered: std::collections::HashMap<u64, Instant> = delivered_rx.iter().collect();
    let millis: Vec<f64> = returned
        .iter()
        .skip(usize::try_from(warm_up).expect("warm-up count"))
        .map(|(position, at)| {
            let seen = delivered
                .get(position)
                .expect("the subscription delivered every event");
            match seen.checked_duration_since(*at) {
                Some(late) => late.as_secs_f64() * 1e3,
                None => -(at.duration_since(*seen).as_secs_f64() * 1e3),
            }
        })
        .collect();
    let early = millis.iter().filter(|ms| **ms < 0.0).count();
    if early > 0 {
        eprintln!("{early} of {count} events were delivered before their append returned");
    }
    let pace = scale.latency_interval.as_secs_f64() * 1e3;
    let what = |p: &str| {
        format!(
            "PostgreSQL append-to-subscriber latency {p}, 2 PgStores, {count} events, one per {pace} ms"
        )
    };
    vec![
        Row::single(
            &what("p50"),
            Figure::new("Subscription", percentile(&millis, 0.50), "ms"),
            None,
        ),
        Row::single(
            &what("p99"),
            Figure::new("Subscription", percentile(&millis, 0.99), "ms"),
            None,
        ),
    ]
}

/// The nearest-rank percentile `p` (0 to 1) of `values`.
fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    // Ranks far below 2^52: exact as f64.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

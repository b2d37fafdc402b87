//! Projections: a read model fed from the log through the one decode point, checkpointed in
//! batches; killed mid-batch and restarted without losing an event or applying one twice
//! (both with the checkpoint in the read model's transaction and in a separate store, with
//! idempotent handlers); several projections at their own pace, each reporting its lag;
//! rebuild from scratch.

use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use es_core::{
    CheckpointError, CheckpointStore, Envelope, EventStore, ExpectedVersion, MemoryStore, NewEvent,
    Projection, ProjectionError, ProjectionRunner, Repository, StopHandle, TransactionalProjection,
};
use es_examples::account::{Account, AccountCommand, AccountEvent};
use es_examples::legacy_log::append_legacy_bank_log;
use es_tests::message_log::MessageLog;
use serde_json::json;

/// Balance per account.
type Balances = BTreeMap<String, i64>;

/// The legacy bank log (9 events, old versions included), then 11 events decided by today's
/// code: 20 events in all.
fn bank_store() -> MemoryStore {
    let store = MemoryStore::new();
    append_legacy_bank_log(&store).expect("legacy log");
    let repo = Repository::<Account, _>::new(&store);
    for round in 0..4 {
        for account in ["acc-001", "acc-002", "acc-003"] {
            if round == 3 && account == "acc-003" {
                break;
            }
            repo.execute(account, AccountCommand::Deposit { amount: 1 + round })
                .expect("deposit");
        }
    }
    assert_eq!(store.head_position().expect("head"), 20);
    store
}

/// The truth, computed independently of any projection: each account's aggregate.
fn balances_by_repository(store: &MemoryStore) -> Balances {
    let repo = Repository::<Account, _>::new(store);
    ["acc-001", "acc-002", "acc-003", "acc-004"]
        .into_iter()
        .map(|id| {
            let balance = repo.load(id).expect("load").state.balance;
            (id.to_owned(), i64::try_from(balance).expect("small"))
        })
        .collect()
}

fn balance_change(event: &AccountEvent) -> i64 {
    let signed = |amount: u64| i64::try_from(amount).expect("small");
    match event {
        AccountEvent::Opened(e) => signed(e.initial_deposit),
        AccountEvent::Deposited(e) => signed(e.amount),
        AccountEvent::Withdrawn(e) => -signed(e.amount),
    }
}

/// Panics on the `n`th event applied in this run (counting from 1): a process dying mid-batch.
#[derive(Default)]
struct Crash {
    after: Option<usize>,
    applied: usize,
}

impl Crash {
    fn after(n: usize) -> Self {
        Self {
            after: Some(n),
            applied: 0,
        }
    }

    fn tick(&mut self) {
        self.applied += 1;
        assert!(
            self.after != Some(self.applied),
            "simulated crash at event {} of this run",
            self.applied
        );
    }
}

// ---- Separate checkpoint store: at-least-once delivery, idempotent effects ----

/// Effects outside the projection's process, keyed on the event's position: writing an effect
/// twice stores it once. Survives a crash of the projection.
#[derive(Debug, Clone, Default)]
struct Ledger {
    entries: Arc<Mutex<BTreeMap<u64, (String, i64)>>>,
    deliveries: Arc<AtomicUsize>,
}

impl Ledger {
    fn balances(&self) -> Balances {
        let mut balances = Balances::new();
        for (stream, change) in self.entries.lock().expect("ledger").values() {
            *balances.entry(stream.clone()).or_default() += change;
        }
        balances
    }

    fn len(&self) -> usize {
        self.entries.lock().expect("ledger").len()
    }
}

struct LedgerProjection {
    ledger: Ledger,
    crash: Crash,
}

impl LedgerProjection {
    fn new(ledger: &Ledger) -> Self {
        Self {
            ledger: ledger.clone(),
            crash: Crash::default(),
        }
    }
}

impl Projection for LedgerProjection {
    type Event = AccountEvent;
    type Error = std::convert::Infallible;

    fn name(&self) -> &'static str {
        "ledger"
    }

    fn apply(&mut self, event: &Envelope<AccountEvent>) -> Result<(), Self::Error> {
        self.ledger.deliveries.fetch_add(1, Ordering::SeqCst);
        // Idempotent: the position is the key, so a redelivered event overwrites itself.
        self.ledger.entries.lock().expect("ledger").insert(
            event.position,
            (event.stream_id.clone(), balance_change(&event.event)),
        );
        self.crash.tick();
        Ok(())
    }

    fn reset(&mut self) -> Result<(), Self::Error> {
        self.ledger.entries.lock().expect("ledger").clear();
        Ok(())
    }
}

#[test]
fn separate_checkpoint_projection_killed_mid_batch_resumes_without_loss_or_double_effect() {
    let store = bank_store();
    let checkpoints = MemoryStore::new();
    let ledger = Ledger::default();

    // First run: batches of 4; the process dies on the 6th event, the 2nd of batch two,
    // after its effect was written but before the batch's checkpoint was saved.
    let crashed = catch_unwind(AssertUnwindSafe(|| {
        let mut projection = LedgerProjection::new(&ledger);
        projection.crash = Crash::after(6);
        let mut runner = ProjectionRunner::new(&store, projection, &checkpoints)
            .expect("start")
            .with_batch_size(4);
        runner.catch_up()
    }));
    assert!(crashed.is_err(), "the first run dies");
    assert_eq!(
        checkpoints.load_checkpoint("ledger").expect("load"),
        Some(4)
    );
    assert_eq!(ledger.len(), 6, "effects of positions 1 to 6 were written");

    // Restart: resumes after position 4, so positions 5 and 6 are delivered again.
    let mut runner = ProjectionRunner::new(&store, LedgerProjection::new(&ledger), &checkpoints)
        .expect("restart")
        .with_batch_size(4);
    assert_eq!(runner.position(), 4);
    assert_eq!(runner.catch_up().expect("catch up"), 16);
    assert_eq!((runner.position(), runner.lag().expect("lag")), (20, 0));

    assert_eq!(
        ledger.deliveries.load(Ordering::SeqCst),
        22,
        "two events were delivered twice"
    );
    assert_eq!(ledger.len(), 20, "but each has one effect");
    assert_eq!(ledger.balances(), balances_by_repository(&store));
    let full_replay = Ledger::default();
    ProjectionRunner::new(
        &store,
        LedgerProjection::new(&full_replay),
        MemoryStore::new(),
    )
    .expect("start")
    .catch_up()
    .expect("full replay");
    assert_eq!(ledger.balances(), full_replay.balances());
}

// ---- Checkpoint committed with the read model: exactly once ----

/// What a transactional store holds after its last commit: rows and checkpoint together.
#[derive(Debug, Clone, Default, PartialEq)]
struct Committed {
    balances: Balances,
    /// Every position applied, in order, to prove none was applied twice.
    applied: Vec<u64>,
    checkpoint: Option<u64>,
}

/// An in-memory read model with all-or-nothing commits: a batch is applied to a copy, and
/// the copy replaces the committed state, checkpoint included, in one step.
struct AtomicBalances {
    committed: Arc<Mutex<Committed>>,
    crash: Crash,
}

impl AtomicBalances {
    fn over(committed: &Arc<Mutex<Committed>>) -> Self {
        Self {
            committed: Arc::clone(committed),
            crash: Crash::default(),
        }
    }
}

impl TransactionalProjection for AtomicBalances {
    type Event = AccountEvent;
    type Error = std::convert::Infallible;

    fn name(&self) -> &'static str {
        "atomic-balances"
    }

    fn checkpoint(&self) -> Result<Option<u64>, Self::Error> {
        Ok(self.committed.lock().expect("model").checkpoint)
    }

    fn apply_batch(
        &mut self,
        events: &[Envelope<AccountEvent>],
        checkpoint: u64,
    ) -> Result<(), Self::Error> {
        let mut next = self.committed.lock().expect("model").clone();
        for event in events {
            *next.balances.entry(event.stream_id.clone()).or_default() +=
                balance_change(&event.event);
            next.applied.push(event.position);
            self.crash.tick();
        }
        next.checkpoint = Some(checkpoint);
        *self.committed.lock().expect("model") = next;
        Ok(())
    }

    fn reset(&mut self) -> Result<(), Self::Error> {
        *self.committed.lock().expect("model") = Committed::default();
        Ok(())
    }
}

#[test]
fn transactional_projection_killed_mid_batch_resumes_applying_each_event_exactly_once() {
    let store = bank_store();
    let committed = Arc::new(Mutex::new(Committed::default()));

    let crashed = catch_unwind(AssertUnwindSafe(|| {
        let mut model = AtomicBalances::over(&committed);
        model.crash = Crash::after(7);
        let mut runner = ProjectionRunner::transactional(&store, model)
            .expect("start")
            .with_batch_size(3);
        runner.catch_up()
    }));
    assert!(crashed.is_err(), "the first run dies in its third batch");
    let after_crash = committed.lock().expect("model").clone();
    assert_eq!(after_crash.checkpoint, Some(6), "two batches committed");
    assert_eq!(after_crash.applied, (1..=6).collect::<Vec<_>>());

    let mut runner = ProjectionRunner::transactional(&store, AtomicBalances::over(&committed))
        .expect("restart")
        .with_batch_size(3);
    assert_eq!(runner.position(), 6);
    assert_eq!(runner.catch_up().expect("catch up"), 14);

    let restarted = committed.lock().expect("model").clone();
    assert_eq!(
        restarted.applied,
        (1..=20).collect::<Vec<_>>(),
        "each once, in order"
    );
    assert_eq!(restarted.checkpoint, Some(20));
    assert_eq!(restarted.balances, balances_by_repository(&store));
    let full_replay = Arc::new(Mutex::new(Committed::default()));
    ProjectionRunner::transactional(&store, AtomicBalances::over(&full_replay))
        .expect("start")
        .catch_up()
        .expect("full replay");
    assert_eq!(restarted, *full_replay.lock().expect("model"));
}

// ---- Decode errors, batches, several projections, rebuild ----

#[test]
fn an_undecodable_event_stops_the_projection_at_its_position_after_applying_the_ones_before() {
    let store = bank_store();
    store
        .append(
            "acc-002",
            ExpectedVersion::Any,
            vec![NewEvent::new("FundsDeposited", 7, json!({ "amount": 1 }))],
        )
        .expect("an event written by newer code");
    store
        .append(
            "acc-002",
            ExpectedVersion::Any,
            vec![NewEvent::new("FundsDeposited", 2, json!({ "amount": 1 }))],
        )
        .expect("append");
    let ledger = Ledger::default();
    let checkpoints = MemoryStore::new();
    let mut runner =
        ProjectionRunner::new(&store, LedgerProjection::new(&ledger), &checkpoints).expect("start");
    let error = runner.catch_up().expect_err("position 21 does not decode");
    let ProjectionError::Decode { projection, source } = &error else {
        panic!("expected a decode error, got {error:?}")
    };
    assert_eq!(projection, "ledger");
    assert_eq!(
        (
            source.stream_id.as_str(),
            source.position,
            source.schema_version
        ),
        ("acc-002", 21, 7)
    );
    assert_eq!(
        error.to_string(),
        "projection `ledger` stopped at position 21 of stream `acc-002`: the event does not decode"
    );
    assert_eq!(runner.position(), 20, "everything before it is applied");
    assert_eq!(
        checkpoints.load_checkpoint("ledger").expect("load"),
        Some(20)
    );
    assert_eq!(ledger.len(), 20);
    assert!(
        runner.catch_up().is_err(),
        "running again stops at the same event: it is never skipped"
    );
    assert_eq!(runner.lag().expect("lag"), 2);
}

/// Counts checkpoint saves.
#[derive(Default)]
struct CountingCheckpoints {
    inner: MemoryStore,
    saves: AtomicUsize,
}

impl CheckpointStore for CountingCheckpoints {
    fn load_checkpoint(&self, projection: &str) -> Result<Option<u64>, CheckpointError> {
        self.inner.load_checkpoint(projection)
    }
    fn save_checkpoint(&self, projection: &str, position: u64) -> Result<(), CheckpointError> {
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save_checkpoint(projection, position)
    }
}

#[test]
fn the_checkpoint_is_saved_once_per_batch() {
    let store = bank_store();
    for (batch_size, saves) in [(1, 20), (6, 4), (100, 1)] {
        let checkpoints = CountingCheckpoints::default();
        let mut runner = ProjectionRunner::new(
            &store,
            LedgerProjection::new(&Ledger::default()),
            &checkpoints,
        )
        .expect("start")
        .with_batch_size(batch_size);
        runner.catch_up().expect("catch up");
        assert_eq!(
            checkpoints.saves.load(Ordering::SeqCst),
            saves,
            "batch size {batch_size}"
        );
        assert_eq!(
            checkpoints.load_checkpoint("ledger").expect("load"),
            Some(20)
        );
    }
}

#[test]
fn two_projections_over_one_store_read_at_their_own_pace_and_a_lagging_one_reports_its_lag() {
    let store = bank_store();
    let ledger = Ledger::default();
    let mut fast =
        ProjectionRunner::new(&store, LedgerProjection::new(&ledger), MemoryStore::new())
            .expect("start");
    let committed = Arc::new(Mutex::new(Committed::default()));
    let mut slow = ProjectionRunner::transactional(&store, AtomicBalances::over(&committed))
        .expect("start")
        .with_batch_size(3);

    fast.catch_up().expect("catch up");
    slow.run_batch().expect("one batch");
    assert_eq!((fast.position(), fast.lag().expect("lag")), (20, 0));
    assert_eq!((slow.position(), slow.lag().expect("lag")), (3, 17));
    let status = slow.status().expect("status");
    assert_eq!(
        status.to_string(),
        "projection `atomic-balances` at position 3 of 20 (17 behind)"
    );

    let repo = Repository::<Account, _>::new(&store);
    for _ in 0..5 {
        repo.execute("acc-004", AccountCommand::Deposit { amount: 2 })
            .expect("deposit");
    }
    assert_eq!(fast.lag().expect("lag"), 5);
    assert_eq!(slow.lag().expect("lag"), 22);
    assert_eq!(fast.catch_up().expect("catch up"), 5);
    assert_eq!(slow.catch_up().expect("catch up"), 22);
    assert_eq!((fast.lag().expect("lag"), slow.lag().expect("lag")), (0, 0));
    assert_eq!(ledger.balances(), committed.lock().expect("model").balances);
    assert_eq!(ledger.balances(), balances_by_repository(&store));
}

/// Wraps a projection to publish its progress and slow it down, for projections that run on
/// their own threads.
struct Paced<P> {
    inner: P,
    position: Arc<AtomicU64>,
    delay_per_event: Duration,
}

impl<P: Projection<Event = AccountEvent>> Projection for Paced<P> {
    type Event = AccountEvent;
    type Error = P::Error;

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn apply(&mut self, event: &Envelope<AccountEvent>) -> Result<(), Self::Error> {
        std::thread::sleep(self.delay_per_event);
        self.inner.apply(event)?;
        self.position.store(event.position, Ordering::SeqCst);
        Ok(())
    }

    fn reset(&mut self) -> Result<(), Self::Error> {
        self.position.store(0, Ordering::SeqCst);
        self.inner.reset()
    }
}

#[test]
fn two_following_projections_at_different_speeds_both_apply_every_live_event() {
    let store = bank_store();
    let (fast_ledger, slow_ledger) = (Ledger::default(), Ledger::default());
    let paced = |ledger: &Ledger, delay_ms| Paced {
        inner: LedgerProjection::new(ledger),
        position: Arc::new(AtomicU64::new(0)),
        delay_per_event: Duration::from_millis(delay_ms),
    };
    let (fast, slow) = (paced(&fast_ledger, 0), paced(&slow_ledger, 3));
    let (fast_at, slow_at) = (Arc::clone(&fast.position), Arc::clone(&slow.position));
    let stop = StopHandle::new();

    let head = std::thread::scope(|scope| {
        let follow = |projection| {
            let stop = stop.clone();
            let store = &store;
            scope.spawn(move || {
                let mut runner = ProjectionRunner::new(store, projection, MemoryStore::new())
                    .expect("start")
                    .with_batch_size(4);
                runner.follow(&stop).expect("follow");
                runner.status().expect("status")
            })
        };
        let (fast_runner, slow_runner) = (follow(fast), follow(slow));
        let repo = Repository::<Account, _>::new(&store);
        for amount in 1..=10 {
            repo.execute("acc-003", AccountCommand::Deposit { amount })
                .expect("live deposit");
        }
        let head = store.head_position().expect("head");
        let deadline = Instant::now() + Duration::from_secs(20);
        while (
            fast_at.load(Ordering::SeqCst),
            slow_at.load(Ordering::SeqCst),
        ) != (head, head)
        {
            assert!(
                Instant::now() < deadline,
                "both projections reach the head: fast at {}, slow at {}",
                fast_at.load(Ordering::SeqCst),
                slow_at.load(Ordering::SeqCst)
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        stop.stop();
        for runner in [fast_runner, slow_runner] {
            let status = runner.join().expect("runner thread");
            assert_eq!((status.position, status.lag), (head, 0), "{status}");
        }
        head
    });
    assert_eq!(head, 30);
    assert_eq!(fast_ledger.balances(), balances_by_repository(&store));
    assert_eq!(slow_ledger.balances(), balances_by_repository(&store));
}

#[test]
fn rebuild_replays_the_whole_log_into_an_emptied_read_model() {
    let store = bank_store();
    let truth = balances_by_repository(&store);

    let ledger = Ledger::default();
    let checkpoints = MemoryStore::new();
    let mut separate =
        ProjectionRunner::new(&store, LedgerProjection::new(&ledger), &checkpoints).expect("start");
    separate.catch_up().expect("catch up");
    ledger
        .entries
        .lock()
        .expect("ledger")
        .insert(999, ("acc-bogus".into(), 1));
    assert_eq!(separate.rebuild().expect("rebuild"), 20);
    assert_eq!(ledger.balances(), truth, "the bogus row is gone");
    assert_eq!(
        checkpoints.load_checkpoint("ledger").expect("load"),
        Some(20)
    );

    let committed = Arc::new(Mutex::new(Committed::default()));
    let mut transactional =
        ProjectionRunner::transactional(&store, AtomicBalances::over(&committed)).expect("start");
    transactional.catch_up().expect("catch up");
    transactional.rebuild().expect("rebuild");
    let rebuilt = committed.lock().expect("model").clone();
    assert_eq!(
        rebuilt.applied,
        (1..=20).collect::<Vec<_>>(),
        "replayed once"
    );
    assert_eq!((rebuilt.balances, rebuilt.checkpoint), (truth, Some(20)));
}

/// A read model whose reset forgets to clear its checkpoint.
struct ForgetfulReset(AtomicBalances);

impl TransactionalProjection for ForgetfulReset {
    type Event = AccountEvent;
    type Error = std::convert::Infallible;
    fn name(&self) -> &'static str {
        "forgetful"
    }
    fn checkpoint(&self) -> Result<Option<u64>, Self::Error> {
        self.0.checkpoint()
    }
    fn apply_batch(
        &mut self,
        events: &[Envelope<AccountEvent>],
        checkpoint: u64,
    ) -> Result<(), Self::Error> {
        self.0.apply_batch(events, checkpoint)
    }
    fn reset(&mut self) -> Result<(), Self::Error> {
        self.0.committed.lock().expect("model").balances.clear();
        Ok(())
    }
}

#[test]
fn a_rebuild_whose_reset_keeps_the_checkpoint_is_refused_rather_than_left_empty() {
    let store = bank_store();
    let committed = Arc::new(Mutex::new(Committed::default()));
    let mut runner =
        ProjectionRunner::transactional(&store, ForgetfulReset(AtomicBalances::over(&committed)))
            .expect("start");
    runner.catch_up().expect("catch up");
    let error = runner
        .rebuild()
        .expect_err("the checkpoint survived the reset");
    assert!(
        matches!(&error, ProjectionError::Reset { projection, .. } if projection == "forgetful"),
        "got {error:?}"
    );
    let source = std::error::Error::source(&error)
        .expect("a cause")
        .to_string();
    assert_eq!(source, "the reset left the checkpoint at position 20");
}

#[test]
fn a_runner_resuming_from_a_stored_checkpoint_warns_that_it_skips_what_came_before() {
    let store = bank_store();
    let checkpoints = MemoryStore::new();
    let ledger = Ledger::default();

    let log = MessageLog::default();
    let runner = tracing::subscriber::with_default(log.clone(), || {
        ProjectionRunner::new(&store, LedgerProjection::new(&ledger), &checkpoints).expect("start")
    });
    assert_eq!(runner.position(), 0);
    assert_eq!(
        log.messages(),
        Vec::<String>::new(),
        "nothing stored: no warning"
    );

    checkpoints.save_checkpoint("ledger", 7).expect("save");
    let log = MessageLog::default();
    let runner = tracing::subscriber::with_default(log.clone(), || {
        ProjectionRunner::new(&store, LedgerProjection::new(&ledger), &checkpoints).expect("start")
    });
    assert_eq!(runner.position(), 7);
    let messages = log.messages();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("stored checkpoint") && m.contains("ledger") && m.contains('7')),
        "{messages:?}"
    );
}

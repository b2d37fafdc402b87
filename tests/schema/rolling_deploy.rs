//! A rolling deploy of a new event version: two releases of the bank's events share one log.
//!
//! Release N writes `FundsDeposited` v2 (the bank's current version). Release N+1 adds v3, in
//! which the amount became a `Money` object: release N cannot read v3, so N+1 ships in two
//! steps. Step 1 reads v3 but writes v2 through its downcast (`write_as`); while it runs beside
//! release N, both read everything the other wrote and agree on every balance. Step 2 writes
//! v3; an instance of release N still running would meet a clear `FutureVersion` error.
//!
//! The same deploy runs on a `FileStore` and on PostgreSQL (`DATABASE_URL`; skipped without
//! it, a failure without it under `CI`).

use std::marker::PhantomData;

use es_core::{Aggregate, DecodeErrorKind, Event, EventStore, LoadError, Repository, StoredEvent};
use es_examples::account::{AccountOpened, FundsDeposited as FundsDepositedV2, FundsWithdrawn};

/// Release N: the bank's events as they are.
mod release_n {
    pub use es_examples::account::AccountEvent as BankEvent;
}

/// v3 of `FundsDeposited`, shared by both steps of release N+1.
mod v3 {
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    /// An amount with its currency.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
    pub struct Money {
        pub minor: u64,
        pub currency: String,
    }
}

/// Release N+1, step 1: reads v3, writes v2.
mod step_1 {
    use es_core::Event;
    use es_examples::account::{AccountOpened, FundsDeposited as FundsDepositedV2, FundsWithdrawn};
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    pub use super::v3::Money;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
    #[event(
        name = "FundsDeposited",
        version = 3,
        upcast_from = FundsDepositedV2,
        write_as = FundsDepositedV2
    )]
    pub struct FundsDeposited {
        pub amount: Money,
    }

    impl From<FundsDepositedV2> for FundsDeposited {
        fn from(v2: FundsDepositedV2) -> Self {
            Self {
                amount: Money {
                    minor: v2.amount,
                    currency: "EUR".into(),
                },
            }
        }
    }

    /// The downcast: what release N reads.
    impl From<FundsDeposited> for FundsDepositedV2 {
        fn from(v3: FundsDeposited) -> Self {
            Self {
                amount: v3.amount.minor,
            }
        }
    }

    #[derive(Debug, Clone, PartialEq, Eq, Event)]
    pub enum BankEvent {
        Opened(AccountOpened),
        Deposited(FundsDeposited),
        Withdrawn(FundsWithdrawn),
    }
}

/// Release N+1, step 2: the same v3 without `write_as`.
mod step_2 {
    use es_core::Event;
    use es_examples::account::{AccountOpened, FundsDeposited as FundsDepositedV2, FundsWithdrawn};
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    pub use super::v3::Money;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
    #[event(name = "FundsDeposited", version = 3, upcast_from = FundsDepositedV2)]
    pub struct FundsDeposited {
        pub amount: Money,
    }

    impl From<FundsDepositedV2> for FundsDeposited {
        fn from(v2: FundsDepositedV2) -> Self {
            Self {
                amount: Money {
                    minor: v2.amount,
                    currency: "EUR".into(),
                },
            }
        }
    }

    #[derive(Debug, Clone, PartialEq, Eq, Event)]
    pub enum BankEvent {
        Opened(AccountOpened),
        Deposited(FundsDeposited),
        Withdrawn(FundsWithdrawn),
    }
}

/// What each release's events mean to an account; the same decisions in every release.
trait BankEvents: Event + Clone + std::fmt::Debug {
    fn opened(owner: &str) -> Self;
    fn deposited(amount: u64) -> Self;
    fn withdrawn(amount: u64) -> Self;
    /// `None` for an opening, else the signed change of the balance.
    fn change(&self) -> Option<i128>;
}

fn opened(owner: &str) -> AccountOpened {
    AccountOpened {
        owner: owner.into(),
        initial_deposit: 0,
        currency: "EUR".into(),
    }
}

impl BankEvents for release_n::BankEvent {
    fn opened(owner: &str) -> Self {
        Self::Opened(opened(owner))
    }
    fn deposited(amount: u64) -> Self {
        Self::Deposited(FundsDepositedV2 { amount })
    }
    fn withdrawn(amount: u64) -> Self {
        Self::Withdrawn(FundsWithdrawn { amount })
    }
    fn change(&self) -> Option<i128> {
        match self {
            Self::Opened(_) => None,
            Self::Deposited(e) => Some(i128::from(e.amount)),
            Self::Withdrawn(e) => Some(-i128::from(e.amount)),
        }
    }
}

macro_rules! next_release_events {
    ($module:ident) => {
        impl BankEvents for $module::BankEvent {
            fn opened(owner: &str) -> Self {
                Self::Opened(opened(owner))
            }
            fn deposited(amount: u64) -> Self {
                Self::Deposited($module::FundsDeposited {
                    amount: $module::Money {
                        minor: amount,
                        currency: "EUR".into(),
                    },
                })
            }
            fn withdrawn(amount: u64) -> Self {
                Self::Withdrawn(FundsWithdrawn { amount })
            }
            fn change(&self) -> Option<i128> {
                match self {
                    Self::Opened(_) => None,
                    Self::Deposited(e) => Some(i128::from(e.amount.minor)),
                    Self::Withdrawn(e) => Some(-i128::from(e.amount)),
                }
            }
        }
    };
}

next_release_events!(step_1);
next_release_events!(step_2);

/// An account as a release sees it.
#[derive(Debug)]
struct Ledger<E> {
    open: bool,
    balance: i128,
    events: PhantomData<E>,
}

impl<E> Default for Ledger<E> {
    fn default() -> Self {
        Self {
            open: false,
            balance: 0,
            events: PhantomData,
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Command {
    Open,
    Deposit(u64),
    Withdraw(u64),
}

impl<E: BankEvents> Aggregate for Ledger<E> {
    type Event = E;
    type Command = Command;
    type Error = String;

    fn handle(&self, command: Command) -> Result<Vec<E>, String> {
        match command {
            Command::Open if self.open => Err("already open".into()),
            Command::Open => Ok(vec![E::opened("ada")]),
            _ if !self.open => Err("not open".into()),
            Command::Deposit(amount) => Ok(vec![E::deposited(amount)]),
            Command::Withdraw(amount) if i128::from(amount) > self.balance => {
                Err("insufficient funds".into())
            }
            Command::Withdraw(amount) => Ok(vec![E::withdrawn(amount)]),
        }
    }

    fn apply(&mut self, event: &E) {
        match event.change() {
            None => self.open = true,
            Some(change) => self.balance += change,
        }
    }
}

const STREAMS: [&str; 2] = ["acc-1", "acc-2"];

fn balance<E: BankEvents, S: EventStore>(repo: &Repository<Ledger<E>, S>, stream: &str) -> i128 {
    repo.load(stream)
        .unwrap_or_else(|e| panic!("{stream} loads: {e}"))
        .state
        .balance
}

/// Every event of the log decodes in release `E`; the balance of each stream, summed from
/// the decoded events.
fn balances_from_read_all<E: BankEvents>(store: &impl EventStore) -> Vec<i128> {
    let mut balances = vec![0; STREAMS.len()];
    for stored in store.read_all(1).expect("read_all") {
        let stored: StoredEvent = stored.expect("readable");
        let decoded = E::decode(&stored).unwrap_or_else(|e| panic!("decodes: {e}"));
        let i = STREAMS
            .iter()
            .position(|s| *s == stored.stream_id)
            .expect("a known stream");
        balances[i] += decoded.into_iter().filter_map(|e| e.change()).sum::<i128>();
    }
    balances
}

fn stored_deposit_versions(store: &impl EventStore) -> Vec<u32> {
    store
        .read_all(1)
        .expect("read_all")
        .map(|stored| stored.expect("readable"))
        .filter(|stored| stored.event_type == "FundsDeposited")
        .map(|stored| stored.schema_version)
        .collect()
}

/// The whole deploy on one log: the instance of release N reaches it through `old`, those
/// of release N+1 through `new` (the same store, or two stores on one database, as two
/// processes would open it).
fn deploy_in_two_steps<S: EventStore>(old: &S, new: &S) {
    let store = new;
    let release_n = Repository::<Ledger<release_n::BankEvent>, _>::new(old);
    let step_1 = Repository::<Ledger<step_1::BankEvent>, _>::new(new);

    // Before the deploy: release N everywhere.
    for stream in STREAMS {
        release_n.execute(stream, Command::Open).expect("open");
        release_n
            .execute(stream, Command::Deposit(100))
            .expect("deposit");
    }

    // During the deploy: instances of both releases take turns on the same streams.
    let mut expected = [100i128, 100];
    for round in 0u64..12 {
        let i = usize::from(round % 2 == 1);
        let stream = STREAMS[i];
        let command = if round % 3 == 2 {
            expected[i] -= i128::from(round);
            Command::Withdraw(round)
        } else {
            expected[i] += i128::from(10 + round);
            Command::Deposit(10 + round)
        };
        if (round / 2) % 2 == 0 {
            step_1
                .execute(stream, command)
                .expect("release N+1 executes");
        } else {
            release_n
                .execute(stream, command)
                .expect("release N executes");
        }
        for (j, stream) in STREAMS.iter().enumerate() {
            assert_eq!(
                balance(&release_n, stream),
                expected[j],
                "release N, {stream}"
            );
            assert_eq!(
                balance(&step_1, stream),
                expected[j],
                "release N+1, {stream}"
            );
        }
    }
    assert_eq!(
        balances_from_read_all::<release_n::BankEvent>(old),
        expected
    );
    assert_eq!(balances_from_read_all::<step_1::BankEvent>(new), expected);
    assert!(
        stored_deposit_versions(store).iter().all(|v| *v == 2),
        "step 1 keeps writing v2: {:?}",
        stored_deposit_versions(store)
    );

    // Step 2, once every instance runs release N+1: v3 is written.
    let step_2 = Repository::<Ledger<step_2::BankEvent>, _>::new(store);
    step_2
        .execute("acc-1", Command::Deposit(25))
        .expect("release N+1, step 2, executes");
    expected[0] += 25;
    assert_eq!(stored_deposit_versions(store).last(), Some(&3));
    assert_eq!(balance(&step_2, "acc-1"), expected[0]);
    assert_eq!(balance(&step_1, "acc-1"), expected[0], "step 1 reads v3");
    assert_eq!(balances_from_read_all::<step_1::BankEvent>(store), expected);

    // An instance of release N left running meets a clear error, never a wrong balance.
    let position = store.head_position().expect("head");
    let version = store.stream_version("acc-1").expect("version");
    match release_n.load("acc-1") {
        Err(LoadError::Decode(error)) => {
            assert!(
                matches!(
                    error.kind,
                    DecodeErrorKind::FutureVersion {
                        latest: 2,
                        unfit: None
                    }
                ),
                "{error:?}"
            );
            assert_eq!(
                error.to_string(),
                format!(
                    "cannot decode event `FundsDeposited` v3 in stream `acc-1` at version {version} \
                     (position {position}): version 3 is newer than the latest this code knows (v2)"
                )
            );
        }
        other => panic!("release N must fail on v3, got {other:?}"),
    }
    assert_eq!(balance(&release_n, "acc-2"), expected[1], "acc-2 has no v3");
}

#[test]
fn two_releases_share_a_file_store_through_a_two_step_deploy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = es_core::FileStore::open(dir.path()).expect("open");
    deploy_in_two_steps(&store, &store);
}

#[test]
fn two_releases_share_a_postgres_log_through_a_two_step_deploy() {
    let Some(db) = es_tests::pg_schema::PgSchema::new() else {
        return;
    };
    let connect = || {
        es_postgres::PgStore::options(&db.url)
            .schema(&db.name)
            .connect()
            .expect("the test server accepts a store")
    };
    // Each release in a process of its own: a store each, on one schema.
    let (old, new) = (connect(), connect());
    deploy_in_two_steps(&old, &new);
}

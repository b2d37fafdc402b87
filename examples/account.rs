//! A bank account, event-sourced, whose events changed shape over the years:
//!
//! - `AccountCreated` v1 was renamed `AccountOpened` in v2 (and `balance` became
//!   `initial_deposit`); v3 added a currency. A chain v1 → v2 → v3 across a rename.
//! - `FundsDeposited` v1 called its amount `amt`; v2 calls it `amount`.
//! - `FundsWithdrawn` has only ever had v1.

use es_core::{Aggregate, Event};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The currency of accounts opened before currencies were recorded.
pub const LEGACY_CURRENCY: &str = "EUR";

/// v1, as first published: the opening balance was called `balance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountCreated", version = 1)]
pub struct AccountCreatedV1 {
    /// Who owns the account.
    pub owner: String,
    /// The opening balance.
    pub balance: u64,
}

/// v2: the event was renamed `AccountOpened`, and `balance` became `initial_deposit`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", version = 2, upcast_from = AccountCreatedV1)]
pub struct AccountOpenedV2 {
    /// Who owns the account.
    pub owner: String,
    /// The first deposit.
    pub initial_deposit: u64,
}

impl From<AccountCreatedV1> for AccountOpenedV2 {
    fn from(v1: AccountCreatedV1) -> Self {
        Self {
            owner: v1.owner,
            initial_deposit: v1.balance,
        }
    }
}

/// v3, current: accounts have a currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "AccountOpened", version = 3, upcast_from = AccountOpenedV2)]
pub struct AccountOpened {
    /// Who owns the account.
    pub owner: String,
    /// The first deposit.
    pub initial_deposit: u64,
    /// ISO 4217 code.
    pub currency: String,
}

impl From<AccountOpenedV2> for AccountOpened {
    fn from(v2: AccountOpenedV2) -> Self {
        Self {
            owner: v2.owner,
            initial_deposit: v2.initial_deposit,
            currency: LEGACY_CURRENCY.to_owned(),
        }
    }
}

/// v1: the amount was called `amt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 1)]
pub struct FundsDepositedV1 {
    /// The amount, in minor units.
    pub amt: u64,
}

/// v2, current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsDeposited", version = 2, upcast_from = FundsDepositedV1)]
pub struct FundsDeposited {
    /// The amount.
    pub amount: u64,
}

impl From<FundsDepositedV1> for FundsDeposited {
    fn from(v1: FundsDepositedV1) -> Self {
        Self { amount: v1.amt }
    }
}

/// v1, current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "FundsWithdrawn", version = 1)]
pub struct FundsWithdrawn {
    /// The amount.
    pub amount: u64,
}

/// Everything that happens to an account, in today's types.
#[derive(Debug, Clone, PartialEq, Eq, Event)]
pub enum AccountEvent {
    /// The account was opened.
    Opened(AccountOpened),
    /// Money came in.
    Deposited(FundsDeposited),
    /// Money went out.
    Withdrawn(FundsWithdrawn),
}

/// A username reserved for an account: appended with `ExpectedVersion::NoStream` to a stream
/// named after the username, so only the first claim succeeds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, Event)]
#[event(name = "UsernameClaimed", version = 1)]
pub struct UsernameClaimed {
    /// The account that claimed it.
    pub account: String,
}

/// Every event the bank's log holds, for tools that read the whole log (`check`, `migrate`).
#[derive(Debug, Clone, PartialEq, Eq, Event)]
pub enum BankLogEvent {
    /// An account was opened.
    Opened(AccountOpened),
    /// Money came in.
    Deposited(FundsDeposited),
    /// Money went out.
    Withdrawn(FundsWithdrawn),
    /// A username was reserved.
    UsernameClaimed(UsernameClaimed),
}

/// What can be asked of an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountCommand {
    /// Open the account with a first deposit.
    Open {
        /// Who owns it.
        owner: String,
        /// The first deposit.
        initial_deposit: u64,
        /// ISO 4217 code.
        currency: String,
    },
    /// Put money in.
    Deposit {
        /// The amount.
        amount: u64,
    },
    /// Take money out.
    Withdraw {
        /// The amount.
        amount: u64,
    },
}

/// Why an account refuses a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// `Open` on an open account.
    #[error("the account is already open")]
    AlreadyOpen,
    /// A deposit or withdrawal before `Open`.
    #[error("the account is not open")]
    NotOpen,
    /// A zero amount.
    #[error("the amount must be positive")]
    ZeroAmount,
    /// A withdrawal larger than the balance.
    #[error("insufficient funds: balance {balance}, requested {requested}")]
    InsufficientFunds {
        /// The balance.
        balance: u64,
        /// The amount asked for.
        requested: u64,
    },
}

/// The account's state, rebuilt from its events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Account {
    /// Whether `Opened` was applied.
    pub open: bool,
    /// The owner.
    pub owner: String,
    /// The currency.
    pub currency: String,
    /// The balance.
    pub balance: u64,
}

impl Aggregate for Account {
    type Event = AccountEvent;
    type Command = AccountCommand;
    type Error = AccountError;

    fn handle(&self, command: AccountCommand) -> Result<Vec<AccountEvent>, AccountError> {
        match command {
            AccountCommand::Open {
                owner,
                initial_deposit,
                currency,
            } => {
                if self.open {
                    return Err(AccountError::AlreadyOpen);
                }
                Ok(vec![AccountEvent::Opened(AccountOpened {
                    owner,
                    initial_deposit,
                    currency,
                })])
            }
            AccountCommand::Deposit { amount } => {
                self.check_amount(amount)?;
                Ok(vec![AccountEvent::Deposited(FundsDeposited { amount })])
            }
            AccountCommand::Withdraw { amount } => {
                self.check_amount(amount)?;
                if amount > self.balance {
                    return Err(AccountError::InsufficientFunds {
                        balance: self.balance,
                        requested: amount,
                    });
                }
                Ok(vec![AccountEvent::Withdrawn(FundsWithdrawn { amount })])
            }
        }
    }

    fn apply(&mut self, event: &AccountEvent) {
        match event {
            AccountEvent::Opened(e) => {
                self.open = true;
                self.owner.clone_from(&e.owner);
                self.currency.clone_from(&e.currency);
                self.balance = e.initial_deposit;
            }
            AccountEvent::Deposited(e) => self.balance += e.amount,
            AccountEvent::Withdrawn(e) => self.balance -= e.amount,
        }
    }
}

impl Account {
    fn check_amount(&self, amount: u64) -> Result<(), AccountError> {
        if !self.open {
            return Err(AccountError::NotOpen);
        }
        if amount == 0 {
            return Err(AccountError::ZeroAmount);
        }
        Ok(())
    }
}

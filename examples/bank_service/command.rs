//! The one place where a request's command meets the repository: its idempotency key, its
//! correlation id and the retry of conflicts.

use es_core::metadata::CORRELATION_ID;
use es_core::{ExecuteError, Executed};
use serde_json::{Map, Value};

use super::BankRepository;
use crate::account::{Account, AccountCommand, AccountError};

/// How many times a command that lost a race with another writer is decided again before the
/// request gets 409.
pub const CONFLICT_RETRIES: u32 = 10;

/// What a request says about the command it carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestContext {
    /// The `Idempotency-Key` header: a retried request with the same key writes nothing new.
    pub idempotency_key: Option<String>,
    /// The `X-Request-Id` header: the events' correlation id.
    pub request_id: Option<String>,
}

/// Executes `command` on the account, retrying conflicts up to [`CONFLICT_RETRIES`] times.
///
/// # Errors
/// The repository's [`ExecuteError`].
#[allow(clippy::needless_pass_by_value)] // the command is the request's, handed over
pub fn execute(
    repo: &BankRepository,
    account: &str,
    command: AccountCommand,
    request: &RequestContext,
) -> Result<Executed<Account>, ExecuteError<AccountError>> {
    let mut metadata = Map::new();
    if let Some(id) = &request.request_id {
        metadata.insert(CORRELATION_ID.to_owned(), Value::from(id.as_str()));
    }
    let mut retries = 0;
    loop {
        match repo.execute_with_metadata(account, command.clone(), &metadata) {
            Err(e) if e.is_conflict() && retries < CONFLICT_RETRIES => retries += 1,
            outcome => return outcome,
        }
    }
}

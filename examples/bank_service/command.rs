//! The one place where a request's command meets the repository: its idempotency key, its
//! correlation id and the retry of conflicts, as [`CommandOptions`].

use es_core::{CommandOptions, ExecuteError, Executed};

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

impl RequestContext {
    /// The repository's options for this request's command.
    #[must_use]
    pub fn options(&self) -> CommandOptions {
        let mut options = CommandOptions::new().retry_conflicts(CONFLICT_RETRIES);
        if let Some(key) = &self.idempotency_key {
            options = options.idempotency_key(key.as_str());
        }
        if let Some(id) = &self.request_id {
            options = options.correlation_id(id.as_str());
        }
        options
    }
}

/// Executes `command` on the account with the request's options. A request retried with its
/// `Idempotency-Key` after its events were stored appends nothing and answers with the
/// account's current state.
///
/// # Errors
/// The repository's [`ExecuteError`]; a conflict only after [`CONFLICT_RETRIES`] retries.
pub fn execute(
    repo: &BankRepository,
    account: &str,
    command: AccountCommand,
    request: &RequestContext,
) -> Result<Executed<Account>, ExecuteError<AccountError>> {
    repo.execute_with(account, command, &request.options())
}

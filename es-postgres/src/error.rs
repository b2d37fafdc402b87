//! What can go wrong between the store and PostgreSQL.

/// Why [`PgOptions::connect`](crate::PgOptions::connect) gave no store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL is not a PostgreSQL connection string.
    #[error("invalid PostgreSQL URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it (never the password).
        reason: String,
    },
    /// The schema name is not one the store accepts.
    #[error("invalid schema name {schema:?}: {reason}")]
    InvalidSchema {
        /// The name given.
        schema: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// An option is out of range.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The store's tables were written by a newer version of this crate.
    #[error(
        "schema `{schema}` holds an event store of layout version {found}, newer than the \
         {supported} this version of es-postgres reads; upgrade es-postgres"
    )]
    NewerLayout {
        /// The schema.
        schema: String,
        /// The layout version found in the database.
        found: i32,
        /// The newest layout version this crate knows.
        supported: i32,
    },
    /// The database could not be reached, or refused to set up the store's tables.
    #[error(transparent)]
    Database(#[from] PgError),
    /// The thread pool that drives connections could not start.
    #[error("could not start the store's connection threads")]
    Runtime(#[source] std::io::Error),
}

/// A failure of PostgreSQL or of the connection to it, carried by the `Backend` variant of
/// es-core's errors (`AppendError::Backend`, `ReadError::Backend`, ...). It names the server
/// (never the password) and what the store was doing; its source is the driver's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PgError {
    /// No connection could be made.
    #[error("could not connect to PostgreSQL at {target}")]
    Connect {
        /// Host, port and database (no credentials).
        target: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A statement failed, or the connection broke while it ran.
    #[error("PostgreSQL at {target} failed to {operation}")]
    Query {
        /// Host, port and database (no credentials).
        target: String,
        /// What the store was doing, as a verb phrase ("append to stream `a`").
        operation: String,
        /// The driver's error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A row holds a value the store cannot have written.
    #[error("PostgreSQL at {target} returned a malformed {what}: {reason}")]
    Malformed {
        /// Host, port and database (no credentials).
        target: String,
        /// Which value.
        what: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The threads that drive the store's connections have stopped.
    #[error("the store's connection threads have stopped")]
    Stopped,
}

impl PgError {
    /// Whether the server could not be reached or the connection broke: the operation may
    /// succeed later, on a new connection (the store opens one on the next call).
    #[must_use]
    pub fn is_connection_failure(&self) -> bool {
        match self {
            PgError::Connect { .. } => true,
            PgError::Query { source, .. } => {
                source.is_closed()
                    || source.code().is_some_and(is_connection_class)
                    || std::error::Error::source(source)
                        .is_some_and(<dyn std::error::Error>::is::<std::io::Error>)
            }
            PgError::Malformed { .. } | PgError::Stopped => false,
        }
    }

    /// The SQLSTATE code PostgreSQL answered with, if the failure came from the server.
    #[must_use]
    pub fn sql_state(&self) -> Option<&str> {
        match self {
            PgError::Connect { source, .. } | PgError::Query { source, .. } => {
                source.code().map(tokio_postgres::error::SqlState::code)
            }
            PgError::Malformed { .. } | PgError::Stopped => None,
        }
    }
}

/// SQLSTATE class 08 (connection exception), 57P01–57P03 (the server shut the session down).
fn is_connection_class(code: &tokio_postgres::error::SqlState) -> bool {
    let code = code.code();
    code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
}

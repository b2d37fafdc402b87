//! [`PgOptions`]: where the store lives and how many connections it may hold.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use tokio_postgres::config::Host;
use tokio_postgres::Config;

use crate::error::ConnectError;
use crate::PgStore;

/// The schema a store uses when none is given.
pub const DEFAULT_SCHEMA: &str = "es";

/// The longest schema name accepted: PostgreSQL's 63-byte identifier limit, less the prefix
/// of the store's notification channel.
pub const MAX_SCHEMA_LEN: usize = 48;

/// How to connect a [`PgStore`]; from [`PgStore::options`].
///
/// # Examples
/// ```no_run
/// let store = es_postgres::PgStore::options("postgres://postgres@127.0.0.1:5432/test")
///     .schema("bank")
///     .max_connections(16)
///     .connect()?;
/// # Ok::<(), es_postgres::ConnectError>(())
/// ```
#[derive(Clone)]
pub struct PgOptions {
    url: String,
    pub(crate) schema: String,
    pub(crate) max_connections: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) read_batch: usize,
}

impl PgOptions {
    pub(crate) fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            schema: DEFAULT_SCHEMA.to_owned(),
            max_connections: 10,
            connect_timeout: Duration::from_secs(10),
            read_batch: 1000,
        }
    }

    /// The PostgreSQL schema holding the store's tables (created on first connect); default
    /// [`DEFAULT_SCHEMA`]. Lowercase ASCII letters, digits and `_`, starting with a letter or
    /// `_`, at most [`MAX_SCHEMA_LEN`] bytes. Stores in different schemas are independent logs.
    #[must_use]
    pub fn schema(mut self, name: impl Into<String>) -> Self {
        self.schema = name.into();
        self
    }

    /// The most connections the store opens for appends and reads at once (default 10, at
    /// least 1). Callers beyond it wait for a free connection. A store that follows the log
    /// (`wait_for_append`) holds one more, for `LISTEN`.
    #[must_use]
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max;
        self
    }

    /// How long opening one connection may take before it fails (default 10 s), unless the
    /// URL sets `connect_timeout` itself.
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many events `read_all` and `read_stream` fetch per query (default 1000, at least
    /// 1): the memory a reader holds at once.
    #[must_use]
    pub fn read_batch(mut self, events: usize) -> Self {
        self.read_batch = events;
        self
    }

    /// Connects, creating the schema and its tables if they do not exist yet (safely when
    /// several processes connect at once).
    ///
    /// # Errors
    /// [`ConnectError::InvalidUrl`], [`ConnectError::InvalidSchema`],
    /// [`ConnectError::InvalidOption`]; [`ConnectError::Database`] when the server cannot be
    /// reached or refuses the set-up; [`ConnectError::NewerLayout`] when the schema was
    /// written by a newer es-postgres.
    pub fn connect(self) -> Result<PgStore, ConnectError> {
        validate_schema(&self.schema)?;
        if self.max_connections == 0 {
            return Err(ConnectError::InvalidOption {
                option: "max_connections",
                reason: "at least one connection is needed",
            });
        }
        if self.read_batch == 0 {
            return Err(ConnectError::InvalidOption {
                option: "read_batch",
                reason: "a read fetches at least one event",
            });
        }
        let mut config = parse_url(&self.url)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(self.connect_timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("es-postgres");
        }
        PgStore::open(config, &self)
    }
}

impl fmt::Debug for PgOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgOptions")
            .field("target", &redacted_url(&self.url))
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .field("connect_timeout", &self.connect_timeout)
            .field("read_batch", &self.read_batch)
            .finish()
    }
}

/// Parses a `postgres://` URL or a `key=value` connection string.
fn parse_url(url: &str) -> Result<Config, ConnectError> {
    Config::from_str(url).map_err(|error| ConnectError::InvalidUrl {
        // The driver's parse errors name options, not values; mask the password anyway in
        // case a future version quotes the input.
        reason: mask_password(url, &error.to_string()),
    })
}

/// `text` with the URL's password, if it has one, replaced by `***`.
fn mask_password(url: &str, text: &str) -> String {
    match url_password(url) {
        Some(password) if !password.is_empty() => text.replace(password, "***"),
        _ => text.to_owned(),
    }
}

/// The password part of `scheme://user:password@host...`, found without parsing the rest.
fn url_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let userinfo = &rest[..rest.rfind('@')?];
    Some(userinfo.split_once(':')?.1)
}

/// The URL reduced to what identifies the server: `host:port/database`, no user, no password.
fn redacted_url(url: &str) -> String {
    Config::from_str(url).map_or_else(|_| "<invalid URL>".to_owned(), |config| target(&config))
}

/// Host, port and database of a configuration, for messages: never credentials.
pub(crate) fn target(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{database}")
}

/// Refuses names that would need quoting rules to be safe, or clash with PostgreSQL's own.
pub(crate) fn validate_schema(schema: &str) -> Result<(), ConnectError> {
    let refuse = |reason| {
        Err(ConnectError::InvalidSchema {
            schema: schema.chars().take(64).collect(),
            reason,
        })
    };
    let Some(first) = schema.chars().next() else {
        return refuse("a schema name must not be empty");
    };
    if schema.len() > MAX_SCHEMA_LEN {
        return refuse("a schema name must be at most 48 bytes");
    }
    if !(first.is_ascii_lowercase() || first == '_') {
        return refuse("a schema name starts with a lowercase ASCII letter or `_`");
    }
    if !schema
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
    {
        return refuse("a schema name holds only lowercase ASCII letters, digits and `_`");
    }
    if schema.starts_with("pg_") || schema == "information_schema" {
        return refuse("names starting with `pg_` and `information_schema` belong to PostgreSQL");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_lowercase_identifiers() {
        for good in ["es", "bank", "_tmp", "t_0123456789abcdef", &"a".repeat(48)] {
            assert!(validate_schema(good).is_ok(), "{good} is a good name");
        }
        for bad in [
            "",
            "Bank",
            "1bank",
            "bank-data",
            "bank\"; DROP TABLE x; --",
            "pg_catalog",
            "information_schema",
            &"a".repeat(49),
        ] {
            let error = validate_schema(bad).expect_err(bad);
            assert!(
                matches!(error, ConnectError::InvalidSchema { .. }),
                "{bad}: {error}"
            );
        }
    }

    #[test]
    fn debug_output_and_targets_never_show_the_password() {
        let options = PgOptions::new("postgres://ada:s3cret-pw@db.example:6543/ledger");
        let debug = format!("{options:?}");
        assert!(!debug.contains("s3cret-pw"), "{debug}");
        assert!(debug.contains("db.example:6543/ledger"), "{debug}");
    }

    #[test]
    fn invalid_urls_are_refused_without_echoing_the_password() {
        for url in [
            "postgres://ada:s3cret-pw@db.example:notaport/ledger",
            "postgres://ada:s3cret-pw@db.example:5432/ledger?sslmode=bogus",
            "postgres://ada:s3cret-pw@[::1/ledger",
        ] {
            let error = PgOptions::new(url).connect().expect_err(url);
            let shown = format!("{error} {error:?}");
            assert!(matches!(error, ConnectError::InvalidUrl { .. }), "{shown}");
            assert!(!shown.contains("s3cret-pw"), "{shown}");
        }
    }

    #[test]
    fn zero_connections_is_refused() {
        let error = PgOptions::new("postgres://localhost/test")
            .max_connections(0)
            .connect()
            .expect_err("no connections");
        assert!(
            matches!(
                error,
                ConnectError::InvalidOption {
                    option: "max_connections",
                    ..
                }
            ),
            "{error}"
        );
    }
}

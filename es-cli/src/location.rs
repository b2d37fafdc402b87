//! Where a store lives: a directory, or a schema of a PostgreSQL database.
//!
//! Every command that takes a store takes either form. A `postgres://` or `postgresql://` URL
//! picks its schema with a `schema` query parameter, which is taken out of the URL before the
//! rest goes to the driver: `postgres://postgres@127.0.0.1:5432/test?schema=bank`. Without
//! it the schema is [`es_postgres::DEFAULT_SCHEMA`]. A location is shown with its password
//! masked, in output and in errors alike.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;

use es_postgres::{ConnectError, PgStore, DEFAULT_SCHEMA};

/// The URL schemes read as PostgreSQL locations; anything else is a directory.
const SCHEMES: [&str; 2] = ["postgres://", "postgresql://"];

/// The query parameter that names the schema.
const SCHEMA_PARAMETER: &str = "schema";

/// Where a store lives.
///
/// # Examples
/// ```
/// use es_cli::StoreLocation;
///
/// let location = StoreLocation::parse("postgres://ada:s3cret@db:5432/ledger?schema=bank")?;
/// let StoreLocation::Postgres(pg) = &location else { panic!("a URL") };
/// assert_eq!(pg.schema(), "bank");
/// assert_eq!(pg.url(), "postgres://ada:s3cret@db:5432/ledger");
/// assert_eq!(location.to_string(), "postgres://ada:***@db:5432/ledger?schema=bank");
///
/// assert!(matches!(StoreLocation::parse("bank-data")?, StoreLocation::Dir(_)));
/// # Ok::<(), es_cli::LocationError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A file store directory.
    Dir(PathBuf),
    /// A schema of a PostgreSQL database.
    Postgres(PgLocation),
}

/// A PostgreSQL database and the schema of the store in it.
#[derive(Clone, PartialEq, Eq)]
pub struct PgLocation {
    url: String,
    schema: String,
}

/// Why a location is not usable. Never shows a password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocationError {
    /// The URL gives its schema more than once.
    #[error("{shown}: the `schema` parameter is given more than once")]
    RepeatedSchema {
        /// The URL, its password masked.
        shown: String,
    },
    /// A `postgres://` URL that is not valid UTF-8.
    #[error("a postgres:// URL must be valid UTF-8")]
    NotUtf8,
}

impl StoreLocation {
    /// Reads a command-line argument: a `postgres://` or `postgresql://` URL, or else a
    /// directory.
    ///
    /// # Errors
    /// [`LocationError`] for a URL whose `schema` parameter is repeated, or that is not UTF-8.
    pub fn parse(arg: impl AsRef<OsStr>) -> Result<Self, LocationError> {
        let arg = arg.as_ref();
        let text = arg.to_string_lossy();
        let is_url = SCHEMES
            .iter()
            .any(|scheme| starts_with_ignoring_case(&text, scheme));
        if !is_url {
            return Ok(StoreLocation::Dir(PathBuf::from(arg)));
        }
        let url = arg.to_str().ok_or(LocationError::NotUtf8)?;
        PgLocation::parse(url).map(StoreLocation::Postgres)
    }

    /// The location given on the command line, or, without one, `DATABASE_URL` when it is set,
    /// or else the directory `default_dir`: how the examples choose their store.
    ///
    /// # Errors
    /// As [`StoreLocation::parse`].
    pub fn from_arg_or_env(
        arg: Option<OsString>,
        default_dir: &str,
    ) -> Result<Self, LocationError> {
        match arg {
            Some(arg) => Self::parse(arg),
            None => match std::env::var_os("DATABASE_URL") {
                Some(url) if !url.is_empty() => Self::parse(url),
                _ => Ok(StoreLocation::Dir(PathBuf::from(default_dir))),
            },
        }
    }
}

impl PgLocation {
    fn parse(text: &str) -> Result<Self, LocationError> {
        let (base, query) = text.split_once('?').unwrap_or((text, ""));
        let mut schema = None;
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            match pair.split_once('=') {
                Some((SCHEMA_PARAMETER, value)) => {
                    if schema.replace(value.to_owned()).is_some() {
                        return Err(LocationError::RepeatedSchema {
                            shown: masked(text),
                        });
                    }
                }
                _ => kept.push(pair),
            }
        }
        let url = if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        Ok(Self {
            url,
            schema: schema.unwrap_or_else(|| DEFAULT_SCHEMA.to_owned()),
        })
    }

    /// The URL without its `schema` parameter, as [`PgStore::options`] takes it.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema of the store.
    #[must_use]
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// Connects to the store, creating its schema and tables if they do not exist yet.
    ///
    /// # Errors
    /// As [`es_postgres::PgOptions::connect`].
    pub fn connect(&self) -> Result<PgStore, ConnectError> {
        PgStore::options(&self.url).schema(&self.schema).connect()
    }
}

impl fmt::Display for PgLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = masked(&self.url);
        let separator = if url.contains('?') { '&' } else { '?' };
        write!(f, "{url}{separator}{SCHEMA_PARAMETER}={}", self.schema)
    }
}

impl fmt::Debug for PgLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PgLocation({self})")
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Dir(dir) => write!(f, "{}", dir.display()),
            StoreLocation::Postgres(pg) => pg.fmt(f),
        }
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Dir(dir) => f.debug_tuple("Dir").field(dir).finish(),
            StoreLocation::Postgres(pg) => pg.fmt(f),
        }
    }
}

fn starts_with_ignoring_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// `url` with the password of its user part and of a `password` parameter replaced by `***`.
///
/// The user part ends at the last `@` before the query, so a password holding `/` or `@`
/// (unescaped) is still masked whole; a database name holding `@` masks more than needed,
/// never less.
fn masked(url: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let user_part = base
        .split_once("://")
        .and_then(|(scheme, rest)| Some((scheme, rest.split_at(rest.rfind('@')?))));
    let mut shown = match user_part {
        Some((scheme, (userinfo, host))) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:***{host}"),
            None => base.to_owned(),
        },
        None => base.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        shown.push('?');
        shown.push_str(&pairs.join("&"));
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(text: &str) -> PgLocation {
        match StoreLocation::parse(text) {
            Ok(StoreLocation::Postgres(pg)) => pg,
            other => panic!("{text} is a PostgreSQL location: {other:?}"),
        }
    }

    #[test]
    fn the_schema_parameter_is_taken_out_of_the_url() {
        let location = pg("postgres://postgres@127.0.0.1:5432/test?schema=bank");
        assert_eq!(location.url(), "postgres://postgres@127.0.0.1:5432/test");
        assert_eq!(location.schema(), "bank");
        let location = pg("postgresql://h/db?sslmode=disable&schema=s1&connect_timeout=3");
        assert_eq!(
            location.url(),
            "postgresql://h/db?sslmode=disable&connect_timeout=3"
        );
        assert_eq!(location.schema(), "s1");
        assert_eq!(
            location.to_string(),
            "postgresql://h/db?sslmode=disable&connect_timeout=3&schema=s1"
        );
    }

    #[test]
    fn without_a_schema_parameter_the_default_schema_is_used() {
        let location = pg("postgres://postgres@127.0.0.1:5432/test");
        assert_eq!(location.schema(), DEFAULT_SCHEMA);
        assert_eq!(
            location.to_string(),
            format!("postgres://postgres@127.0.0.1:5432/test?schema={DEFAULT_SCHEMA}")
        );
    }

    #[test]
    fn anything_else_is_a_directory() {
        for dir in [
            "bank-data",
            "/tmp/postgres://x",
            "postgres",
            "./postgres:/x",
        ] {
            assert_eq!(
                StoreLocation::parse(dir),
                Ok(StoreLocation::Dir(PathBuf::from(dir))),
                "{dir}"
            );
        }
    }

    #[test]
    fn passwords_are_never_shown() {
        for (url, shown) in [
            (
                "postgres://ada:s3cret@db:5432/ledger?schema=bank",
                "postgres://ada:***@db:5432/ledger?schema=bank",
            ),
            (
                "postgres://ada:s3c/r@t@db/ledger",
                "postgres://ada:***@db/ledger?schema=es",
            ),
            (
                "postgres://db/ledger?user=ada&password=s3cret",
                "postgres://db/ledger?user=ada&password=***&schema=es",
            ),
            (
                "POSTGRES://ada:s3cret@db",
                "POSTGRES://ada:***@db?schema=es",
            ),
        ] {
            let location = pg(url);
            assert_eq!(location.to_string(), shown, "{url}");
            assert!(!format!("{location:?}").contains("s3c"), "{url}");
        }
        let repeated = StoreLocation::parse("postgres://ada:s3cret@db/x?schema=a&schema=b")
            .expect_err("a repeated schema");
        assert!(!repeated.to_string().contains("s3cret"), "{repeated}");
    }
}

//! Where the service keeps its log: a directory (the file store, with the SQLite read model
//! beside it) or a PostgreSQL schema (the log and the read model's table side by side).

use std::path::PathBuf;
use std::sync::Arc;

use es_core::{EventStore, FileStore, SnapshotStore};
use es_postgres::PgStore;

/// What the routes need of a store: events and snapshots. `FileStore` and `PgStore` both are.
pub trait ServiceStore: EventStore + SnapshotStore {}

impl<T: EventStore + SnapshotStore + ?Sized> ServiceStore for T {}

/// The store the service shares between its requests and its projector.
pub type SharedStore = Arc<dyn ServiceStore>;

/// The schema the service uses on PostgreSQL unless told otherwise.
pub const DEFAULT_SCHEMA: &str = "bank";

/// The directory the service uses unless told otherwise.
pub const DEFAULT_DIR: &str = "bank-service-data";

/// Where the log is, from `--store` (and `--schema`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// A directory: the file store in `DIR/events`, the read model in `DIR/balances.sqlite`.
    Dir(PathBuf),
    /// A PostgreSQL database and the schema that holds the log and the read model.
    Postgres {
        /// The connection URL, without the `schema` parameter.
        url: String,
        /// The schema.
        schema: String,
    },
}

impl StoreLocation {
    /// `postgres://…` (or `postgresql://…`) is a database, whose schema is the URL's `schema`
    /// parameter, else `schema`, else [`DEFAULT_SCHEMA`]; anything else is a directory.
    #[must_use]
    pub fn parse(store: &str, schema: Option<&str>) -> Self {
        if !(store.starts_with("postgres://") || store.starts_with("postgresql://")) {
            return StoreLocation::Dir(PathBuf::from(store));
        }
        let (url, from_url) = split_schema_parameter(store);
        StoreLocation::Postgres {
            url,
            schema: from_url
                .or_else(|| schema.map(str::to_owned))
                .unwrap_or_else(|| DEFAULT_SCHEMA.to_owned()),
        }
    }

    /// The file store's directory, for a directory location.
    #[must_use]
    pub fn events_dir(&self) -> Option<PathBuf> {
        match self {
            StoreLocation::Dir(dir) => Some(dir.join("events")),
            StoreLocation::Postgres { .. } => None,
        }
    }

    /// How the location is shown in messages: the directory, or the schema and server
    /// without credentials.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            StoreLocation::Dir(dir) => format!("file store in {}", dir.display()),
            StoreLocation::Postgres { url, schema } => {
                let server = url
                    .split_once('@')
                    .map_or(url.as_str(), |(_, rest)| rest)
                    .trim_start_matches("postgres://")
                    .trim_start_matches("postgresql://");
                format!("PostgreSQL schema `{schema}` at {server}")
            }
        }
    }
}

/// Takes `schema=NAME` out of a URL's query string.
fn split_schema_parameter(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut schema = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("schema=") {
            Some(name) => {
                schema = Some(name.to_owned());
                false
            }
            None => !pair.is_empty(),
        })
        .collect();
    if kept.is_empty() {
        (base.to_owned(), schema)
    } else {
        (format!("{base}?{}", kept.join("&")), schema)
    }
}

/// Opens the log.
///
/// # Errors
/// When the directory cannot be created or the store cannot be opened or reached.
pub fn open_store(
    location: &StoreLocation,
) -> Result<SharedStore, Box<dyn std::error::Error + Send + Sync>> {
    match location {
        StoreLocation::Dir(dir) => {
            std::fs::create_dir_all(dir)?;
            Ok(Arc::new(FileStore::open(dir.join("events"))?))
        }
        StoreLocation::Postgres { url, schema } => Ok(Arc::new(
            PgStore::options(url)
                .schema(schema)
                .max_connections(16)
                .connect()?,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_postgres_url_keeps_its_other_parameters_and_gives_up_its_schema() {
        assert_eq!(
            StoreLocation::parse("postgres://u@h/db?schema=s1&connect_timeout=5", Some("x")),
            StoreLocation::Postgres {
                url: "postgres://u@h/db?connect_timeout=5".into(),
                schema: "s1".into()
            }
        );
        assert_eq!(
            StoreLocation::parse("postgres://u@h/db", None),
            StoreLocation::Postgres {
                url: "postgres://u@h/db".into(),
                schema: DEFAULT_SCHEMA.into()
            }
        );
        assert_eq!(
            StoreLocation::parse("data", None),
            StoreLocation::Dir("data".into())
        );
    }
}

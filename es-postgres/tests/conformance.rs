//! The event store conformance suite, the same as the file store's, against PostgreSQL.

mod support;

es_core::event_store_conformance!(optional: support::fixture);

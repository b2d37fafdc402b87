//! `MemoryStore` passes the conformance suite every store runs.

es_core::event_store_conformance!(es_core::MemoryStore::new);

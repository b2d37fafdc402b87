//! The shared store conformance suite, run against `FileStore` with its default durability
//! (every append synced), each check in a fresh temporary directory.

use es_core::conformance::StoreFixture;
use es_core::{EventStore, FileStore};

/// A store and the temporary directory it lives in, removed when the fixture is dropped.
struct TempFileStore {
    store: FileStore,
    _dir: tempfile::TempDir,
}

impl StoreFixture for TempFileStore {
    fn store(&self) -> &dyn EventStore {
        &self.store
    }
}

fn fresh_store() -> TempFileStore {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let store = FileStore::open(dir.path()).expect("open a store in an empty directory");
    TempFileStore { store, _dir: dir }
}

es_core::event_store_conformance!(fresh_store);

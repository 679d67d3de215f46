//! The store conformance suite against SQLite, each check on its own database file.

use std::sync::Arc;

use chat_core::store::Store;
use chat_store_sqlite::SqliteStore;

chat_core::store_conformance!(async {
    Arc::new(SqliteStore::open_temp().expect("open a scratch store")) as Arc<dyn Store>
});

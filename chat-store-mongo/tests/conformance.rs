//! The chat-core store conformance suite against MongoDB (FerretDB when run by `scripts/test`),
//! each check on a database of its own.

use std::sync::Arc;

use chat_core::UserId;
use chat_core::store::Store;
use chat_store_mongo::MongoStore;

/// A store on a fresh database of the server named by `CHAT_TEST_MONGO_URL`; `None` (the suite
/// then prints a SKIPPED line per check) when the variable is unset.
async fn fresh_store() -> Option<Arc<dyn Store>> {
    let url = std::env::var("CHAT_TEST_MONGO_URL")
        .ok()
        .filter(|url| !url.is_empty())?;
    let database = format!("chat_test_{}", UserId::generate());
    let store = MongoStore::connect(&url, &database)
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {url}: {error}"));
    Some(Arc::new(store))
}

chat_core::store_conformance!(fresh_store());

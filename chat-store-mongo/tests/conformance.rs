//! The chat-core store conformance suite against MongoDB (FerretDB when run by `scripts/test`),
//! each check on a database of its own.

use std::sync::Arc;

use chat_core::store::Store;
use chat_store_mongo::MongoStore;
use chat_testkit::{mongo_url, unique_name};

/// A store on a fresh database of the server named by `CHAT_TEST_MONGO_URL`; `None` (the suite
/// then prints a SKIPPED line per check) when the variable is unset.
async fn fresh_store() -> Option<Arc<dyn Store>> {
    let url = mongo_url()?;
    let store = MongoStore::connect(&url, &unique_name("chat_test"))
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {url}: {error}"));
    Some(Arc::new(store))
}

chat_core::store_conformance!(fresh_store());

//! The chat-core blob-store suite against GridFS (FerretDB when run by `scripts/test`), each
//! check on a database of its own.

use std::sync::Arc;

use chat_core::blob::BlobStore;
use chat_store_mongo::MongoStore;
use chat_testkit::{mongo_url, unique_name};

/// The GridFS store of a fresh database; `None` (SKIPPED) without `CHAT_TEST_MONGO_URL`.
async fn fresh_blobs() -> Option<Arc<dyn BlobStore>> {
    let url = mongo_url()?;
    let store = MongoStore::connect(&url, &unique_name("chat_blobs"))
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {url}: {error}"));
    Some(Arc::new(store.blobs()))
}

chat_core::blob_conformance!(fresh_blobs());

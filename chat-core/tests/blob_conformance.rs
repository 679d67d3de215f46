//! The blob-store suite on the in-memory and directory stores.

use std::ops::Range;
use std::sync::Arc;

use async_trait::async_trait;
use chat_core::blob::{Blob, BlobBody, BlobStore, DirBlobStore};
use chat_core::memory::MemoryBlobStore;

mod memory {
    use super::*;

    chat_core::blob_conformance!(async { Arc::new(MemoryBlobStore::new()) as Arc<dyn BlobStore> });
}

mod directory {
    use super::*;

    chat_core::blob_conformance!(async { Arc::new(TempBlobs::new()) as Arc<dyn BlobStore> });
}

/// A directory store in a temporary directory removed after the test.
struct TempBlobs {
    store: DirBlobStore,
    _dir: tempfile::TempDir,
}

impl TempBlobs {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        TempBlobs {
            store: DirBlobStore::open(&dir.path().join("files")).unwrap(),
            _dir: dir,
        }
    }
}

#[async_trait]
impl BlobStore for TempBlobs {
    async fn put(&self, key: &str, body: BlobBody<'_>) -> chat_core::Result<u64> {
        self.store.put(key, body).await
    }

    async fn get(&self, key: &str, range: Option<Range<u64>>) -> chat_core::Result<Option<Blob>> {
        self.store.get(key, range).await
    }

    async fn delete(&self, key: &str) -> chat_core::Result<()> {
        self.store.delete(key).await
    }
}

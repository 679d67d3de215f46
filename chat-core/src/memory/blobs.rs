//! Blobs in process memory: for tests and embedding, and the reference the other blob stores
//! are checked against. It keeps whole blobs by nature; uploads are still read chunk by chunk
//! and published only once complete.

use std::collections::HashMap;
use std::io::Cursor;
use std::ops::Range;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;

use crate::blob::{Blob, BlobBody, BlobStore, check_key, clamp, next_chunk};
use crate::error::Result;

/// Blobs in a mutex-guarded map; clones share the blobs, like nodes sharing a database.
#[derive(Debug, Clone, Default)]
pub struct MemoryBlobStore {
    blobs: Arc<Mutex<HashMap<String, Bytes>>>,
}

impl MemoryBlobStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl BlobStore for MemoryBlobStore {
    async fn put(&self, key: &str, body: BlobBody<'_>) -> Result<u64> {
        check_key(key)?;
        let mut whole = Vec::new();
        let mut buf = Vec::with_capacity(crate::blob::CHUNK);
        while next_chunk(body, &mut buf).await? > 0 {
            whole.extend_from_slice(&buf);
        }
        let size = whole.len() as u64;
        crate::sync::lock(&self.blobs).insert(key.to_owned(), whole.into());
        Ok(size)
    }

    async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<Option<Blob>> {
        check_key(key)?;
        let Some(bytes) = crate::sync::lock(&self.blobs).get(key).cloned() else {
            return Ok(None);
        };
        let size = bytes.len() as u64;
        let range = clamp(range, size);
        let part = bytes.slice(range.start as usize..range.end as usize);
        Ok(Some(Blob {
            size,
            body: Box::pin(Cursor::new(part)),
        }))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        crate::sync::lock(&self.blobs).remove(key);
        Ok(())
    }
}

//! The storage boundary for file bytes: a [`BlobStore`] keeps opaque blobs by key and streams
//! them in and out, so no upload or download is ever held whole in memory.
//!
//! Implementations: [`crate::memory::MemoryBlobStore`] (tests, embedding), [`DirBlobStore`]
//! (a directory, the embedded default) and GridFS in `chat-store-mongo` (several nodes sharing
//! one database). All run the conformance suite in `chat_core::testing::blobs`.

mod dir;

use std::ops::Range;
use std::pin::Pin;

use async_trait::async_trait;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::{Error, Result};

pub use dir::DirBlobStore;

/// The longest key; keys are also file names in [`DirBlobStore`].
const MAX_KEY: usize = 128;
/// How much a store reads from a body at once.
pub const CHUNK: usize = 64 * 1024;

/// A body being uploaded.
pub type BlobBody<'a> = &'a mut (dyn AsyncRead + Send + Unpin);

/// The bytes of a stored blob (or the part asked for), streamed.
pub struct Blob {
    /// The whole blob's length, whatever part `body` yields.
    pub size: u64,
    /// The bytes asked for.
    pub body: Pin<Box<dyn AsyncRead + Send>>,
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blob").field("size", &self.size).finish()
    }
}

/// Opaque bytes by key.
///
/// Keys are 1 to 128 characters of `a-z`, `0-9`, `.`, `_` and `-`, not starting with `.`;
/// others fail with `Error::Invalid`. Storage failures are `Error::Unavailable`.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores what `body` yields until its end under `key`, replacing any blob stored under it,
    /// and returns the length stored. Streams: holds at most a chunk of the body at a time.
    ///
    /// Atomic: readers (on any node sharing the store) see the previous blob or the whole new
    /// one, never a part. When reading `body` fails (a broken upload, a size limit), the call
    /// fails with `Error::Invalid` and stores nothing; a previous blob under `key` stays.
    async fn put(&self, key: &str, body: BlobBody<'_>) -> Result<u64>;

    /// The blob under `key`, yielding only `range` of its bytes when given (clamped to the
    /// blob: a range past its end yields nothing); `None` when there is no such blob.
    async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<Option<Blob>>;

    /// Removes the blob under `key`. Idempotent: a missing blob is not an error.
    async fn delete(&self, key: &str) -> Result<()>;
}

/// Refuses keys outside the documented alphabet, so a key is always a safe file name.
pub fn check_key(key: &str) -> Result<()> {
    let valid = !key.is_empty()
        && key.len() <= MAX_KEY
        && !key.starts_with('.')
        && key
            .bytes()
            .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'-'));
    if valid {
        Ok(())
    } else {
        Err(Error::Invalid(format!("invalid blob key {key:?}")))
    }
}

/// Reads the next chunk of an upload into `buf` (cleared first); 0 at its end. A failing body
/// is the uploader's problem, reported as `Error::Invalid`.
pub async fn next_chunk(body: BlobBody<'_>, buf: &mut Vec<u8>) -> Result<usize> {
    buf.clear();
    (&mut *body)
        .take(CHUNK as u64)
        .read_to_end(buf)
        .await
        .map_err(|err| Error::Invalid(format!("the upload broke off: {err}")))
}

/// `range` clamped to a blob of `size` bytes.
pub fn clamp(range: Option<Range<u64>>, size: u64) -> Range<u64> {
    match range {
        None => 0..size,
        Some(range) => range.start.min(size)..range.end.clamp(range.start.min(size), size),
    }
}

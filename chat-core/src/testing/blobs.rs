//! The blob-store checks: one public async function per promise of
//! [`BlobStore`](crate::blob::BlobStore), run on every implementation by
//! [`blob_conformance!`](crate::blob_conformance).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncReadExt, ReadBuf};

use crate::blob::{Blob, BlobStore};
use crate::error::Error;
use crate::id::FileId;

/// Lets the conformance macro accept a blob store or an optional one.
pub trait IntoBlobOption {
    /// `None` means "skip: backend not configured".
    fn into_blob_option(self) -> Option<Arc<dyn BlobStore>>;
}

impl IntoBlobOption for Arc<dyn BlobStore> {
    fn into_blob_option(self) -> Option<Arc<dyn BlobStore>> {
        Some(self)
    }
}

impl IntoBlobOption for Option<Arc<dyn BlobStore>> {
    fn into_blob_option(self) -> Option<Arc<dyn BlobStore>> {
        self
    }
}

/// Used by the macro.
pub fn into_option(value: impl IntoBlobOption) -> Option<Arc<dyn BlobStore>> {
    value.into_blob_option()
}

/// A key no other test uses.
fn key() -> String {
    FileId::generate().to_string()
}

/// `len` bytes of a pattern that shows misplaced ranges.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

async fn read(blob: Blob) -> Vec<u8> {
    let mut out = Vec::new();
    let mut body = blob.body;
    body.read_to_end(&mut out).await.unwrap();
    out
}

async fn put(store: &Arc<dyn BlobStore>, key: &str, bytes: &[u8]) -> u64 {
    store.put(key, &mut &bytes[..]).await.unwrap()
}

/// A body that yields `good` bytes, then fails.
struct Broken {
    good: Vec<u8>,
}

impl AsyncRead for Broken {
    fn poll_read(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.good.is_empty() {
            return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionReset, "gone")));
        }
        let n = this.good.len().min(buf.remaining());
        buf.put_slice(&this.good[..n]);
        this.good.drain(..n);
        Poll::Ready(Ok(()))
    }
}

/// Blobs of any size (empty, one byte, several chunks) come back byte for byte.
pub async fn blobs_round_trip(store: Arc<dyn BlobStore>) {
    for len in [0, 1, 1000, 300 * 1024 + 17] {
        let key = key();
        let bytes = pattern(len);
        assert_eq!(put(&store, &key, &bytes).await, len as u64);
        let blob = store.get(&key, None).await.unwrap().unwrap();
        assert_eq!(blob.size, len as u64);
        assert_eq!(read(blob).await, bytes, "length {len}");
    }
}

/// Unknown keys are absent; deleting is idempotent.
pub async fn missing_blobs_are_none_and_deletes_are_idempotent(store: Arc<dyn BlobStore>) {
    let key = key();
    assert!(store.get(&key, None).await.unwrap().is_none());
    store.delete(&key).await.unwrap();
    put(&store, &key, b"bytes").await;
    store.delete(&key).await.unwrap();
    assert!(store.get(&key, None).await.unwrap().is_none());
    store.delete(&key).await.unwrap();
}

/// A range yields exactly those bytes, clamped to the blob; the size is the whole blob's.
pub async fn ranges_yield_exactly_their_bytes(store: Arc<dyn BlobStore>) {
    let key = key();
    let bytes = pattern(600 * 1024);
    put(&store, &key, &bytes).await;
    let len = bytes.len() as u64;
    for range in [
        0..1,
        10..20,
        255 * 1024 - 3..255 * 1024 + 3,
        300_000..len,
        len - 1..len,
        len - 5..len + 100,
        len..len + 10,
    ] {
        let blob = store.get(&key, Some(range.clone())).await.unwrap().unwrap();
        assert_eq!(blob.size, len);
        let start = range.start.min(len) as usize;
        let end = range.end.min(len) as usize;
        assert_eq!(read(blob).await, &bytes[start..end], "range {range:?}");
    }
}

/// Putting under a taken key replaces the blob whole.
pub async fn puts_replace_whole_blobs(store: Arc<dyn BlobStore>) {
    let key = key();
    put(&store, &key, &pattern(400 * 1024)).await;
    put(&store, &key, b"short").await;
    let blob = store.get(&key, None).await.unwrap().unwrap();
    assert_eq!(blob.size, 5);
    assert_eq!(read(blob).await, b"short");
}

/// A body that breaks off stores nothing and leaves an older blob as it was.
pub async fn broken_uploads_store_nothing(store: Arc<dyn BlobStore>) {
    let key = key();
    let broken = store
        .put(
            &key,
            &mut Broken {
                good: pattern(300 * 1024),
            },
        )
        .await;
    assert!(matches!(broken, Err(Error::Invalid(_))), "{broken:?}");
    assert!(store.get(&key, None).await.unwrap().is_none());
    put(&store, &key, b"kept").await;
    let broken = store.put(&key, &mut Broken { good: pattern(10) }).await;
    assert!(broken.is_err());
    assert_eq!(
        read(store.get(&key, None).await.unwrap().unwrap()).await,
        b"kept"
    );
}

/// Keys outside the alphabet are refused, so none can escape a directory.
pub async fn unsafe_keys_are_refused(store: Arc<dyn BlobStore>) {
    for bad in ["", "../x", "a/b", ".hidden", "UPPER", &"k".repeat(129)] {
        assert!(
            matches!(store.get(bad, None).await, Err(Error::Invalid(_))),
            "{bad:?}"
        );
        assert!(
            matches!(store.put(bad, &mut &b"x"[..]).await, Err(Error::Invalid(_))),
            "{bad:?}"
        );
        assert!(matches!(store.delete(bad).await, Err(Error::Invalid(_))));
    }
    let key = format!("{}.thumb", key());
    put(&store, &key, b"thumb").await;
    assert!(store.get(&key, None).await.unwrap().is_some());
}

/// Concurrent puts of one key leave one of the bodies whole, never a mix.
pub async fn concurrent_puts_leave_one_whole_blob(store: Arc<dyn BlobStore>) {
    let key = key();
    let bodies: Vec<Vec<u8>> = (0..4u8)
        .map(|n| vec![n; 200 * 1024 + usize::from(n)])
        .collect();
    let puts: Vec<_> = bodies
        .iter()
        .cloned()
        .map(|body| {
            let (store, key) = (store.clone(), key.clone());
            tokio::spawn(async move { store.put(&key, &mut &body[..]).await.unwrap() })
        })
        .collect();
    for put in puts {
        put.await.unwrap();
    }
    let stored = read(store.get(&key, None).await.unwrap().unwrap()).await;
    assert!(bodies.contains(&stored), "a mix of bodies was stored");
}

//! The engine's file lifecycle on the memory backends: uploads, the per-user upload quota,
//! attaching, what deleting a message (or its files) removes, and the collection of files never
//! attached.

use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chat_core::blob::{Blob, BlobBody, BlobStore};
use chat_core::engine::AttemptLimits;
use chat_core::files::{FileRecord, blob_key, thumb_key};
use chat_core::limits::AttemptQuota;
use chat_core::memory::{MemoryBlobStore, MemoryStore};
use chat_core::model::User;
use chat_core::{Engine, EngineConfig, Error, FileId, RoomId, TokenKeys};

fn engine(config: EngineConfig) -> (Engine, MemoryBlobStore) {
    let blobs = MemoryBlobStore::new();
    let engine = Engine::builder(Arc::new(MemoryStore::new()), TokenKeys::from_secret(b"s"))
        .blobs(Arc::new(blobs.clone()))
        .config(config)
        .build();
    (engine, blobs)
}

async fn pair(engine: &Engine) -> (User, User, RoomId) {
    let ann = engine
        .register("ann@example.com", "password1", "Ann")
        .await
        .unwrap()
        .user;
    let bob = engine
        .register("bob@example.com", "password2", "Bob")
        .await
        .unwrap()
        .user;
    let room = engine.open_direct(ann.id, bob.id).await.unwrap().room.id;
    (ann, bob, room)
}

/// Uploads `bytes` as `name` for `user` into `room`, which must succeed.
async fn uploaded(
    engine: &Engine,
    user: &User,
    room: RoomId,
    name: &str,
    bytes: &[u8],
) -> FileRecord {
    engine
        .upload(user, room, name, &mut &bytes[..])
        .await
        .unwrap()
}

fn png() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::new(64, 48)
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

/// Asserts that `files` are gone for `caller`: records, bytes and thumbnails.
async fn assert_gone(engine: &Engine, blobs: &MemoryBlobStore, caller: &User, files: &[FileId]) {
    for &file in files {
        assert!(matches!(
            engine.file(caller, file).await,
            Err(Error::NotFound(_))
        ));
        assert!(blobs.get(&blob_key(file), None).await.unwrap().is_none());
        assert!(blobs.get(&thumb_key(file), None).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn dropping_a_messages_attachments_removes_records_bytes_and_thumbnails() {
    let (engine, blobs) = engine(EngineConfig::default());
    let (ann, bob, room) = pair(&engine).await;
    let image = uploaded(&engine, &ann, room, "a.png", &png()).await;
    assert_eq!((image.width, image.height), (Some(64), Some(48)));
    let notes = uploaded(&engine, &ann, room, "n.txt", b"notes").await;
    let message = engine
        .send_with_files(&ann, room, "", None, &[image.id, notes.id])
        .await
        .unwrap();
    assert_eq!(message.attachments.len(), 2);
    let seen = engine.file(&bob, image.id).await.unwrap();
    engine.thumbnail(&seen).await.unwrap();
    assert!(
        blobs
            .get(&thumb_key(image.id), None)
            .await
            .unwrap()
            .is_some()
    );

    engine.drop_attachments(&message).await.unwrap();
    engine.drop_attachments(&message).await.unwrap();
    assert_gone(&engine, &blobs, &ann, &[image.id, notes.id]).await;
}

#[tokio::test]
async fn deleting_a_message_removes_its_files() {
    let (engine, blobs) = engine(EngineConfig::default());
    let (ann, bob, room) = pair(&engine).await;
    let notes = uploaded(&engine, &ann, room, "n.txt", b"notes").await;
    let message = engine
        .send_with_files(&ann, room, "see the notes", None, &[notes.id])
        .await
        .unwrap();
    engine.file(&bob, notes.id).await.unwrap();

    let tombstone = engine.delete_message(&ann, room, message.id).await.unwrap();
    assert!(tombstone.deleted);
    assert!(tombstone.attachments.is_empty());
    assert!(matches!(
        engine.file(&bob, notes.id).await,
        Err(Error::NotFound(_))
    ));
    assert!(
        blobs
            .get(&blob_key(notes.id), None)
            .await
            .unwrap()
            .is_none()
    );
    let history = engine.history(&bob, room, None, 10).await.unwrap();
    assert!(history[0].deleted && history[0].attachments.is_empty());
    engine.delete_message(&ann, room, message.id).await.unwrap();
}

#[tokio::test]
async fn unattached_files_are_collected_and_attached_ones_kept() {
    let (engine, blobs) = engine(EngineConfig {
        unattached_file_ttl: Duration::from_millis(50),
        file_sweep_interval: Duration::from_secs(3600),
        ..EngineConfig::default()
    });
    let (ann, _, room) = pair(&engine).await;
    let kept = uploaded(&engine, &ann, room, "k", b"kept").await;
    let lost = uploaded(&engine, &ann, room, "l", b"lost").await;
    engine
        .send_with_files(&ann, room, "", None, &[kept.id])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(engine.collect_unattached_files().await.unwrap(), 1);
    assert!(blobs.get(&blob_key(lost.id), None).await.unwrap().is_none());
    assert!(blobs.get(&blob_key(kept.id), None).await.unwrap().is_some());
    assert_eq!(engine.collect_unattached_files().await.unwrap(), 0);
}

#[tokio::test]
async fn uploads_count_against_a_per_user_quota() {
    let (engine, _) = engine(EngineConfig {
        attempts: AttemptLimits {
            upload_per_user: AttemptQuota {
                per_minute: 1,
                burst: 2,
            },
            ..AttemptLimits::default()
        },
        ..EngineConfig::default()
    });
    let (ann, bob, room) = pair(&engine).await;
    for _ in 0..2 {
        uploaded(&engine, &ann, room, "f", b"x").await;
    }
    let refused = engine.upload(&ann, room, "f", &mut &b"x"[..]).await;
    assert!(
        matches!(refused, Err(Error::Throttled { .. })),
        "{refused:?}"
    );
    uploaded(&engine, &bob, room, "f", b"x").await;
}

#[tokio::test]
async fn purging_an_account_removes_every_file_it_uploaded_bytes_included() {
    let (engine, blobs) = engine(EngineConfig::default());
    let (ann, bob, room) = pair(&engine).await;
    let image = uploaded(&engine, &ann, room, "a.png", &png()).await;
    let loose = uploaded(&engine, &ann, room, "n.txt", b"notes").await;
    let bobs = uploaded(&engine, &bob, room, "b.txt", b"bob's").await;
    let message = engine
        .send_with_files(&ann, room, "look", None, &[image.id])
        .await
        .unwrap();
    engine.thumbnail(&image).await.unwrap();

    engine.delete_user(ann.id, true).await.unwrap();
    assert_gone(&engine, &blobs, &bob, &[image.id, loose.id]).await;
    assert!(engine.file(&bob, bobs.id).await.is_ok());
    let history = engine.history(&bob, room, None, 10).await.unwrap();
    let purged = history.iter().find(|m| m.id == message.id).unwrap();
    assert!(purged.attachments.is_empty());
    engine.delete_user(ann.id, true).await.unwrap();
}

/// Memory blobs whose deletes fail while `refuse_deletes` is set, as a blob store that is
/// down does.
#[derive(Default)]
struct UndeletableBlobs {
    blobs: MemoryBlobStore,
    refuse_deletes: AtomicBool,
}

#[async_trait]
impl BlobStore for UndeletableBlobs {
    async fn put(&self, key: &str, body: BlobBody<'_>) -> chat_core::Result<u64> {
        self.blobs.put(key, body).await
    }

    async fn get(&self, key: &str, range: Option<Range<u64>>) -> chat_core::Result<Option<Blob>> {
        self.blobs.get(key, range).await
    }

    async fn delete(&self, key: &str) -> chat_core::Result<()> {
        if self.refuse_deletes.load(Ordering::SeqCst) {
            return Err(Error::Unavailable {
                what: "blob store".into(),
                source: None,
            });
        }
        self.blobs.delete(key).await
    }
}

#[tokio::test]
async fn a_purge_that_cannot_delete_bytes_fails_and_its_rerun_deletes_them() {
    let blobs = Arc::new(UndeletableBlobs::default());
    let engine = Engine::builder(Arc::new(MemoryStore::new()), TokenKeys::from_secret(b"s"))
        .blobs(blobs.clone())
        .build();
    let (ann, bob, room) = pair(&engine).await;
    let notes = uploaded(&engine, &ann, room, "n.txt", b"notes").await;

    blobs.refuse_deletes.store(true, Ordering::SeqCst);
    assert!(matches!(
        engine.delete_user(ann.id, true).await,
        Err(Error::Unavailable { .. })
    ));
    assert!(
        blobs
            .get(&blob_key(notes.id), None)
            .await
            .unwrap()
            .is_some()
    );

    blobs.refuse_deletes.store(false, Ordering::SeqCst);
    engine.delete_user(ann.id, true).await.unwrap();
    assert_gone(&engine, &blobs.blobs, &bob, &[notes.id]).await;
}

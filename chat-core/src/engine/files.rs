//! Files: uploads streamed into the blob store with their type sniffed, reads for the room's
//! members, thumbnails made once, attaching files to a message, and their end (with their
//! message, or collected when never attached).

use std::collections::HashSet;
use std::io::Cursor;
use std::ops::Range;

use tokio::io::AsyncReadExt;
use tokio::sync::Semaphore;

use crate::blob::{Blob, BlobBody};
use crate::error::{Error, Result};
use crate::files::limited::Limited;
use crate::files::sniff::{SNIFF_BYTES, sniff};
use crate::files::{Attachment, FileRecord, blob_key, thumb, thumb_key};
use crate::id::{FileId, MessageId, RoomId, UserId};
use crate::model::{Message, User, now};

use super::attempts::Attempt;
use super::{Engine, validate};

/// Thumbnails decoded at once; each may hold a whole image and its pixels in memory.
const THUMBNAIL_WORKERS: usize = 2;
/// Unattached files the collector takes per store query.
const SWEEP_BATCH: usize = 100;

/// Bounds the memory thumbnailing takes.
pub(super) struct Thumbnailer {
    workers: Semaphore,
}

impl Default for Thumbnailer {
    fn default() -> Self {
        Thumbnailer {
            workers: Semaphore::new(THUMBNAIL_WORKERS),
        }
    }
}

impl Engine {
    /// Stores a file `uploader` uploads to `room` under the name `name`, streaming `body` to
    /// the blob store, and returns its record (unattached).
    ///
    /// Members only; counted against the uploader's upload quota (`Error::Throttled`). A body
    /// longer than `max_file_bytes` fails with `Error::TooLarge` as soon as it passes the
    /// limit, and nothing of it is kept. The content type and an image's size come from the
    /// bytes, never from the client.
    pub async fn upload(
        &self,
        uploader: &User,
        room: RoomId,
        name: &str,
        body: BlobBody<'_>,
    ) -> Result<FileRecord> {
        self.members_for(uploader.id, room).await?;
        self.count_attempt(Attempt::Upload(uploader.id)).await?;
        let max = self.inner.config.max_file_bytes;
        let mut limited = Limited::new(body, max);
        let mut prefix = Vec::with_capacity(SNIFF_BYTES);
        let read = (&mut limited)
            .take(SNIFF_BYTES as u64)
            .read_to_end(&mut prefix)
            .await;
        if let Err(err) = read {
            return Err(too_large_or(&limited, max, Error::Invalid(err.to_string())));
        }
        let sniffed = sniff(&prefix);
        let id = FileId::generate();
        let mut whole = Cursor::new(prefix).chain(&mut limited);
        let stored = self.inner.blobs.put(&blob_key(id), &mut whole).await;
        let size = stored.map_err(|err| too_large_or(&limited, max, err))?;
        let record = FileRecord {
            id,
            room_id: room,
            uploader_id: uploader.id,
            name: validate::file_name(name),
            size,
            content_type: sniffed.content_type.to_owned(),
            width: sniffed.width,
            height: sniffed.height,
            created_at: now(),
            message_id: None,
        };
        if let Err(err) = self.inner.store.create_file(record.clone()).await {
            self.delete_blobs(id).await;
            return Err(err);
        }
        Ok(record)
    }

    /// The record of file `id`, for members of its room only (`Error::Forbidden` for others,
    /// `Error::NotFound` for an unknown file).
    pub async fn file(&self, caller: &User, id: FileId) -> Result<FileRecord> {
        let file = self
            .inner
            .store
            .file(id)
            .await?
            .ok_or_else(|| Error::NotFound("file not found".into()))?;
        self.members_for(caller.id, file.room_id).await?;
        Ok(file)
    }

    /// The bytes of `file` (all, or `range`), streamed; pass a record [`Engine::file`] gave,
    /// which checked the caller.
    pub async fn file_body(&self, file: &FileRecord, range: Option<Range<u64>>) -> Result<Blob> {
        self.inner
            .blobs
            .get(&blob_key(file.id), range)
            .await?
            .ok_or_else(|| Error::NotFound("file content not found".into()))
    }

    /// The thumbnail of an image `file` (from [`Engine::file`]), made on first request and
    /// kept as a blob of its own; its type is [`thumb::thumb_type`] of the file's.
    /// `Error::NotFound` for files that are not images, `Error::Invalid` for images that do
    /// not decode.
    pub async fn thumbnail(&self, file: &FileRecord) -> Result<Blob> {
        if !file.is_inline_image() {
            return Err(Error::NotFound("only images have thumbnails".into()));
        }
        let key = thumb_key(file.id);
        if let Some(made) = self.inner.blobs.get(&key, None).await? {
            return Ok(made);
        }
        let _worker = self
            .inner
            .thumbnails
            .workers
            .acquire()
            .await
            .map_err(|err| Error::unavailable("thumbnailer", err))?;
        if let Some(made) = self.inner.blobs.get(&key, None).await? {
            return Ok(made);
        }
        let original = self.file_body(file, None).await?;
        let mut image = Vec::with_capacity(usize::try_from(original.size).unwrap_or(0));
        original
            .body
            .take(self.inner.config.max_file_bytes.max(file.size))
            .read_to_end(&mut image)
            .await
            .map_err(|err| Error::unavailable("file storage", err))?;
        let content_type = file.content_type.clone();
        let made = tokio::task::spawn_blocking(move || thumb::thumbnail(&image, &content_type))
            .await
            .map_err(|err| Error::unavailable("thumbnailer", err))??;
        self.inner
            .blobs
            .put(&key, &mut Cursor::new(made.as_slice()))
            .await?;
        Ok(Blob {
            size: made.len() as u64,
            body: Box::pin(Cursor::new(made)),
        })
    }

    /// Attaches the files `ids` to the message `message` that `sender` is about to store in
    /// `room`: only their own uploads to that room, not attached before.
    pub(super) async fn attach(
        &self,
        sender: &User,
        room: RoomId,
        message: MessageId,
        ids: &[FileId],
    ) -> Result<Vec<Attachment>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let files = self
            .inner
            .store
            .attach_files(ids, message, sender.id, room)
            .await?;
        Ok(files.iter().map(FileRecord::attachment).collect())
    }

    /// The stored message a resend (same sender, room and `client_id`) of a message listing
    /// `ids` refers to, found through the files it attached.
    pub(super) async fn attached_original(
        &self,
        sender: &User,
        room: RoomId,
        client_id: &str,
        ids: &[FileId],
    ) -> Result<Option<Message>> {
        let Some(first) = ids.first() else {
            return Ok(None);
        };
        let Some(message) = self
            .inner
            .store
            .file(*first)
            .await?
            .and_then(|file| file.message_id)
        else {
            return Ok(None);
        };
        Ok(self.inner.store.message(message).await?.filter(|original| {
            original.sender_id == sender.id
                && original.room_id == room
                && original.client_id.as_deref() == Some(client_id)
        }))
    }

    /// Deletes the files attached to `message`, their bytes and their thumbnails: what
    /// deleting a message must do once the message itself is deleted. Idempotent, so a
    /// failed call can be repeated.
    pub async fn drop_attachments(&self, message: &Message) -> Result<()> {
        for attachment in &message.attachments {
            self.try_delete_blobs(attachment.file_id).await?;
        }
        let records = self.inner.store.delete_message_files(message.id).await?;
        for file in records {
            self.try_delete_blobs(file.id).await?;
        }
        Ok(())
    }

    /// Deletes every file `uploader` uploaded: bytes and thumbnails first, then the records,
    /// so that when deleting bytes fails, the records that remain let a rerun finish the job.
    /// The account is disabled by then, so no upload can slip in between; should one have,
    /// its bytes are deleted after its record, and logged by file id if that fails.
    pub(super) async fn drop_uploads_of(&self, uploader: UserId) -> Result<()> {
        let mut blobs_deleted = HashSet::new();
        for file in self.inner.store.uploaders_files(uploader).await? {
            self.try_delete_blobs(file.id).await?;
            blobs_deleted.insert(file.id);
        }
        for file in self.inner.store.delete_uploaders_files(uploader).await? {
            if !blobs_deleted.contains(&file.id) {
                self.delete_blobs(file.id).await;
            }
        }
        Ok(())
    }

    /// Collects the files nobody attached within `unattached_file_ttl`: their records, bytes
    /// and thumbnails. Returns how many. The background sweep calls it every
    /// `file_sweep_interval`; a file being attached meanwhile is kept.
    pub async fn collect_unattached_files(&self) -> Result<usize> {
        let ttl = chrono::Duration::from_std(self.inner.config.unattached_file_ttl)
            .map_err(|err| Error::Invalid(format!("unattached file ttl: {err}")))?;
        let before = now() - ttl;
        let mut collected = 0;
        loop {
            let stale = self
                .inner
                .store
                .unattached_files(before, SWEEP_BATCH)
                .await?;
            let mut progressed = false;
            for file in &stale {
                if self.inner.store.collect_file(file.id).await? {
                    self.delete_blobs(file.id).await;
                    collected += 1;
                    progressed = true;
                }
            }
            if stale.len() < SWEEP_BATCH || !progressed {
                return Ok(collected);
            }
        }
    }

    async fn try_delete_blobs(&self, id: FileId) -> Result<()> {
        self.inner.blobs.delete(&thumb_key(id)).await?;
        self.inner.blobs.delete(&blob_key(id)).await
    }

    /// Deletes a file's blobs where nothing can be done about a failure but logging it.
    async fn delete_blobs(&self, id: FileId) {
        if let Err(err) = self.try_delete_blobs(id).await {
            tracing::warn!(file = %id, error = %err, "cannot delete a file's bytes");
        }
    }
}

/// `Error::TooLarge` when the limit cut the body off, otherwise `other`.
fn too_large_or<R>(limited: &Limited<R>, max: u64, other: Error) -> Error {
    if limited.exceeded() {
        Error::TooLarge(format!("files may be at most {max} bytes"))
    } else {
        other
    }
}

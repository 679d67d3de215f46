//! File bytes in a GridFS bucket of the store's database, so every server on the database
//! serves the files any of them stored.
//!
//! A key is a GridFS file name. A put uploads a new revision (GridFS makes the file visible
//! only once all its chunks are written), then deletes the revisions older than itself; a get
//! reads the newest. A broken put aborts its upload, which deletes its chunks.
//!
//! Reads go straight to the bucket's chunks collection (the layout the GridFS spec fixes:
//! `files_id`, `n`, `data`), fetching only the chunks a range covers; the driver's download
//! stream can only start at the first chunk.

use std::io;
use std::ops::Range;

use async_trait::async_trait;
use chat_core::blob::{Blob, BlobBody, BlobStore, check_key, clamp, next_chunk};
use chat_core::{Error, Result};
use futures_util::{StreamExt, TryStreamExt};
use mongodb::Collection;
use mongodb::bson::{Bson, Document, doc};
use mongodb::gridfs::{FilesCollectionDocument, GridFsBucket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::compat::FuturesAsyncWriteCompatExt;
use tokio_util::io::StreamReader;

/// Blobs in GridFS.
#[derive(Debug, Clone)]
pub struct GridFsBlobStore {
    bucket: GridFsBucket,
    /// The bucket's chunks, read directly for ranges.
    chunks: Collection<Document>,
}

fn unavailable(err: impl Into<chat_core::error::BoxedSource>) -> Error {
    Error::unavailable("file storage", err)
}

impl GridFsBlobStore {
    pub(crate) fn new(bucket: GridFsBucket, chunks: Collection<Document>) -> Self {
        GridFsBlobStore { bucket, chunks }
    }

    /// Every stored revision of `key`, newest first.
    async fn revisions(&self, key: &str) -> Result<Vec<FilesCollectionDocument>> {
        self.bucket
            .find(doc! { "filename": key })
            .sort(doc! { "uploadDate": -1, "_id": -1 })
            .await
            .map_err(unavailable)?
            .try_collect()
            .await
            .map_err(unavailable)
    }

    /// Deletes one revision; one already gone is fine.
    async fn delete_revision(&self, id: Bson) -> Result<()> {
        match self.bucket.delete(id).await {
            Ok(()) => Ok(()),
            Err(err)
                if matches!(
                    *err.kind,
                    mongodb::error::ErrorKind::GridFs(
                        mongodb::error::GridFsErrorKind::FileNotFound { .. }
                    )
                ) =>
            {
                Ok(())
            }
            Err(err) => Err(unavailable(err)),
        }
    }
}

#[async_trait]
impl BlobStore for GridFsBlobStore {
    async fn put(&self, key: &str, body: BlobBody<'_>) -> Result<u64> {
        check_key(key)?;
        let mut upload = self
            .bucket
            .open_upload_stream(key)
            .await
            .map_err(unavailable)?
            .compat_write();
        let mut buf = Vec::with_capacity(chat_core::blob::CHUNK);
        let mut size = 0;
        let written: Result<()> = async {
            while next_chunk(body, &mut buf).await? > 0 {
                upload.write_all(&buf).await.map_err(unavailable)?;
                size += buf.len() as u64;
            }
            upload.shutdown().await.map_err(unavailable)
        }
        .await;
        if let Err(err) = written {
            let _ = upload.get_mut().abort().await;
            return Err(err);
        }
        let id = upload.get_ref().id().clone();
        let revisions = self.revisions(key).await?;
        let newer = revisions.iter().position(|revision| revision.id == id);
        for older in revisions
            .into_iter()
            .skip(newer.map_or(usize::MAX, |at| at + 1))
        {
            self.delete_revision(older.id).await?;
        }
        Ok(size)
    }

    async fn get(&self, key: &str, range: Option<Range<u64>>) -> Result<Option<Blob>> {
        check_key(key)?;
        let Some(newest) = self.revisions(key).await?.into_iter().next() else {
            return Ok(None);
        };
        let size = newest.length;
        let range = clamp(range, size);
        let chunk = u64::from(newest.chunk_size_bytes.max(1));
        if range.is_empty() {
            return Ok(Some(Blob {
                size,
                body: Box::pin(tokio::io::empty()),
            }));
        }
        let (first, last) = (range.start / chunk, (range.end - 1) / chunk);
        let to_n = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let cursor = self
            .chunks
            .find(doc! {
                "files_id": newest.id,
                "n": { "$gte": to_n(first), "$lte": to_n(last) },
            })
            .sort(doc! { "n": 1 })
            .await
            .map_err(unavailable)?;
        let mut expected = first;
        let chunks = cursor.map(move |found| {
            let found = found.map_err(io::Error::other)?;
            let n = found
                .get_i32("n")
                .map(i64::from)
                .or_else(|_| found.get_i64("n"))
                .map_err(io::Error::other)?;
            if u64::try_from(n).ok() != Some(expected) {
                return Err(io::Error::other(format!(
                    "gridfs chunk {expected} is missing"
                )));
            }
            expected += 1;
            let data = found.get_binary_generic("data").map_err(io::Error::other)?;
            Ok(bytes::Bytes::copy_from_slice(data))
        });
        let mut body = StreamReader::new(Box::pin(chunks));
        let skip = range.start - first * chunk;
        if skip > 0 {
            tokio::io::copy(&mut (&mut body).take(skip), &mut tokio::io::sink())
                .await
                .map_err(unavailable)?;
        }
        Ok(Some(Blob {
            size,
            body: Box::pin(body.take(range.end - range.start)),
        }))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        for revision in self.revisions(key).await? {
            self.delete_revision(revision.id).await?;
        }
        Ok(())
    }
}

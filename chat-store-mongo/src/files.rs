//! File records: `files` holds each upload's record and `file_claims` who holds each file.
//!
//! FerretDB v1 has no atomic conditional update, so "attach if unattached" cannot be one
//! update. Instead, whoever inserts a file's claim (`_id` = the file id, unique by nature)
//! owns it: an attach claims for its message and then sets `message` on the record; the
//! collector claims for itself, deletes the record, then gives the claim back; an attach
//! reads the record again once it holds the claim. Of racing attaches and collections exactly
//! one wins, on any number of servers.

use async_trait::async_trait;
use chat_core::files::{FileRecord, check_attachable};
use chat_core::id::{FileId, MessageId, RoomId, UserId};
use chat_core::model::Timestamp;
use chat_core::store::FileStore;
use chat_core::{Error, Result};
use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};

use crate::codec::{self, date, oid};
use crate::error::MongoError;
use crate::schema::field::*;
use crate::store::MongoStore;

impl MongoStore {
    /// Every file record matching `filter`.
    async fn files_where(&self, filter: Document) -> Result<Vec<FileRecord>, MongoError> {
        let docs: Vec<Document> = self
            .run(async { self.files.find(filter).await?.try_collect().await })
            .await?;
        docs.iter().map(codec::file).collect()
    }

    async fn file_doc(&self, id: FileId) -> Result<Option<FileRecord>, MongoError> {
        self.run(self.files.find_one(doc! { ID: oid(id.0) }))
            .await?
            .map(|doc| codec::file(&doc))
            .transpose()
    }

    /// Claims one file for `message`: false when someone else holds it.
    async fn claim(&self, id: FileId, message: MessageId) -> Result<bool, MongoError> {
        let claim = doc! { ID: oid(id.0), MESSAGE: oid(message.0) };
        match self.run(self.claims.insert_one(claim)).await {
            Ok(_) => Ok(true),
            Err(err) if err.is_duplicate_key() => Ok(false),
            Err(err) => Err(err),
        }
    }

    /// Gives back the claims `message` holds and unattaches its files.
    async fn release(&self, message: MessageId) -> Result<(), MongoError> {
        let message = oid(message.0);
        self.run(self.files.update_many(
            doc! { MESSAGE: message },
            doc! { "$unset": { MESSAGE: "" } },
        ))
        .await?;
        self.run(self.claims.delete_many(doc! { MESSAGE: message }))
            .await?;
        Ok(())
    }

    async fn attach_all(
        &self,
        ids: &[FileId],
        message: MessageId,
        uploader: UserId,
        room: RoomId,
    ) -> Result<Vec<FileRecord>> {
        let mut attached = Vec::with_capacity(ids.len());
        for id in ids {
            let found = self.file_doc(*id).await?;
            check_attachable(found.as_ref(), uploader, room)?;
            if !self.claim(*id, message).await? {
                return Err(Error::Conflict("file is already attached".into()));
            }
            // The collector deletes a record before giving back its claim: a record still
            // there now, with this claim held, can no longer be collected.
            let Some(mut file) = self.file_doc(*id).await? else {
                return Err(Error::NotFound("file not found".into()));
            };
            file.message_id = Some(message);
            attached.push(file);
        }
        let ids: Vec<_> = ids.iter().map(|id| oid(id.0)).collect();
        self.run(self.files.update_many(
            doc! { ID: { "$in": ids } },
            doc! { "$set": { MESSAGE: oid(message.0) } },
        ))
        .await?;
        Ok(attached)
    }
}

#[async_trait]
impl FileStore for MongoStore {
    async fn create_file(&self, file: FileRecord) -> Result<()> {
        self.run(self.files.insert_one(codec::file_doc(&file)))
            .await?;
        Ok(())
    }

    async fn file(&self, id: FileId) -> Result<Option<FileRecord>> {
        Ok(self.file_doc(id).await?)
    }

    /// Claims the files one by one; on the first refusal, gives back what it claimed.
    async fn attach_files(
        &self,
        ids: &[FileId],
        message: MessageId,
        uploader: UserId,
        room: RoomId,
    ) -> Result<Vec<FileRecord>> {
        let attached = self.attach_all(ids, message, uploader, room).await;
        if attached.is_err()
            && let Err(err) = self.release(message).await
        {
            tracing::warn!(error = %err, "cannot give back the files of a refused attach");
        }
        attached
    }

    async fn detach_files(&self, message: MessageId) -> Result<()> {
        Ok(self.release(message).await?)
    }

    async fn unattached_files(&self, before: Timestamp, limit: usize) -> Result<Vec<FileRecord>> {
        let found = self
            .find_sorted(
                &self.files,
                doc! { MESSAGE: { "$exists": false }, CREATED_AT: { "$lt": date(before) } },
                doc! { CREATED_AT: 1, ID: 1 },
                i64::try_from(limit).unwrap_or(i64::MAX),
            )
            .await?;
        Ok(found
            .iter()
            .map(codec::file)
            .collect::<Result<_, MongoError>>()?)
    }

    /// Claims the file for the collector (refused when attached or being attached), deletes
    /// the record, then the claim.
    async fn collect_file(&self, id: FileId) -> Result<bool> {
        let claim = doc! { ID: oid(id.0), COLLECTED: true };
        match self.run(self.claims.insert_one(claim)).await {
            Ok(_) => {}
            Err(err) if err.is_duplicate_key() => return Ok(false),
            Err(err) => return Err(err.into()),
        }
        let deleted = self
            .run(self.files.delete_one(doc! { ID: oid(id.0) }))
            .await?;
        self.run(self.claims.delete_one(doc! { ID: oid(id.0) }))
            .await?;
        Ok(deleted.deleted_count == 1)
    }

    async fn delete_message_files(&self, message: MessageId) -> Result<Vec<FileRecord>> {
        let filter = doc! { MESSAGE: oid(message.0) };
        let files = self.files_where(filter.clone()).await?;
        self.run(self.files.delete_many(filter.clone())).await?;
        self.run(self.claims.delete_many(filter)).await?;
        Ok(files)
    }

    async fn uploaders_files(&self, uploader: UserId) -> Result<Vec<FileRecord>> {
        Ok(self.files_where(doc! { UPLOADER: oid(uploader.0) }).await?)
    }

    /// Deletes the records first, then their claims; a rerun finds no record and deletes
    /// nothing more, leaving at worst claims of files that no longer exist, which nothing
    /// reads.
    async fn delete_uploaders_files(&self, uploader: UserId) -> Result<Vec<FileRecord>> {
        let filter = doc! { UPLOADER: oid(uploader.0) };
        let files = self.files_where(filter.clone()).await?;
        self.run(self.files.delete_many(filter)).await?;
        let ids: Vec<_> = files.iter().map(|file| oid(file.id.0)).collect();
        self.run(self.claims.delete_many(doc! { ID: { "$in": ids } }))
            .await?;
        Ok(files)
    }
}

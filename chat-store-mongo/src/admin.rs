//! The operators' part of the store: listing every account and room, account status, and
//! erasing an account.
//!
//! Erasing is several single-document and multi-document updates, not one transaction
//! (FerretDB v1 has none); each is idempotent, so running the erasure again after an
//! interruption finishes it. Purged messages keep their documents, so the (room, seq) line
//! that appends read their next seq from never goes back.

use async_trait::async_trait;
use chat_core::id::RawId;
use chat_core::model::{
    Account, AccountStatus, DELETED_USER_NAME, ERASED_PASSWORD_HASH, Room, deleted_email,
};
use chat_core::store::AdminStore;
use chat_core::{Error, MessageId, Result, RoomId, UserId};
use futures_util::future::try_join_all;
use mongodb::bson::{Document, doc};

use crate::codec::{self, client_key, oid};
use crate::error::MongoError;
use crate::schema::field::*;
use crate::store::MongoStore;

/// A filter for ids after `after` (all when `None`).
fn after_filter(after: Option<RawId>) -> Document {
    match after {
        Some(after) => doc! { ID: { "$gt": oid(after) } },
        None => doc! {},
    }
}

impl MongoStore {
    async fn status_of(&self, user: UserId) -> Result<AccountStatus> {
        Ok(self
            .account(user)
            .await?
            .ok_or_else(|| Error::NotFound("user not found".into()))?
            .status)
    }

    /// Empties the text and attachments of the user's chat messages and gives those sent with
    /// a `client_id`
    /// the key of one sent without, one document at a time (the key embeds each id).
    async fn purge_messages(&self, user: UserId) -> Result<(), MongoError> {
        let chat = doc! { SENDER: oid(user.0), EVENT_KIND: { "$exists": false } };
        self.run(self.messages.update_many(
            chat.clone(),
            doc! { "$set": { TEXT: "" }, "$unset": { ATTACHMENTS: "" } },
        ))
        .await?;
        let mut keyed = chat;
        keyed.insert(CLIENT_KEY, doc! { "$regex": "^c:" });
        let found = self
            .find_sorted(&self.messages, keyed, doc! { ID: 1 }, i64::MAX)
            .await?;
        for message in found {
            let id = message
                .get_object_id(ID)
                .map_err(|source| MongoError::Malformed {
                    collection: crate::schema::MESSAGES,
                    source,
                })?;
            let id = MessageId(RawId::from_bytes(id.bytes()));
            self.run(self.messages.update_one(
                doc! { ID: oid(id.0) },
                doc! { "$set": { CLIENT_KEY: client_key(id, None) } },
            ))
            .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl AdminStore for MongoStore {
    async fn accounts(&self, after: Option<UserId>, limit: usize) -> Result<Vec<Account>> {
        let Some(limit) = crate::users::limit(limit) else {
            return Ok(Vec::new());
        };
        let filter = after_filter(after.map(|after| after.0));
        let found = self
            .find_sorted(&self.users, filter, doc! { ID: 1 }, limit)
            .await?;
        Ok(found
            .iter()
            .map(codec::account)
            .collect::<Result<_, MongoError>>()?)
    }

    async fn account(&self, id: UserId) -> Result<Option<Account>> {
        let found = self
            .run(self.users.find_one(doc! { ID: oid(id.0) }))
            .await?;
        Ok(found.as_ref().map(codec::account).transpose()?)
    }

    async fn set_disabled(&self, user: UserId, disabled: bool) -> Result<()> {
        if self.status_of(user).await? == AccountStatus::Deleted {
            return Err(Error::Invalid("the account is deleted".into()));
        }
        let status = if disabled {
            AccountStatus::Disabled
        } else {
            AccountStatus::Active
        };
        self.run(self.users.update_one(
            doc! { ID: oid(user.0) },
            doc! { "$set": { STATUS: status.as_str() } },
        ))
        .await?;
        Ok(())
    }

    async fn erase_user(&self, user: UserId, purge: bool) -> Result<()> {
        self.status_of(user).await?;
        self.run(self.users.update_one(
            doc! { ID: oid(user.0) },
            doc! { "$set": {
                EMAIL: deleted_email(user),
                NAME: DELETED_USER_NAME,
                PASSWORD_HASH: ERASED_PASSWORD_HASH,
                STATUS: AccountStatus::Deleted.as_str(),
            } },
        ))
        .await?;
        self.run(self.messages.update_many(
            doc! { SENDER: oid(user.0) },
            doc! { "$set": { SENDER_NAME: DELETED_USER_NAME } },
        ))
        .await?;
        self.run(self.external_users.delete_many(doc! { USER: oid(user.0) }))
            .await?;
        if purge {
            self.purge_messages(user).await?;
        }
        Ok(())
    }

    async fn all_rooms(&self, after: Option<RoomId>, limit: usize) -> Result<Vec<Room>> {
        let Some(limit) = crate::users::limit(limit) else {
            return Ok(Vec::new());
        };
        let filter = after_filter(after.map(|after| after.0));
        let found = self
            .find_sorted(&self.rooms, filter, doc! { ID: 1 }, limit)
            .await?;
        Ok(try_join_all(found.iter().map(|doc| self.with_last_message(doc))).await?)
    }
}

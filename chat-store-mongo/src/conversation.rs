//! Conversation state: read positions, forward pages, edits, tombstones and the change feed.
//!
//! FerretDB v1 applies an update by reading the document, changing it in its own process and
//! writing it back, so two racing updates of one document can lose one. Nothing here depends
//! on an update being atomic:
//!
//! - A read position is the highest of its read marks (`reads`), which are only inserted; a
//!   writer then removes the marks below its own, never the highest, so the position never
//!   moves back whoever wins a race.
//! - Only a message's author edits it, so edits race only deletions. A deletion first inserts
//!   a marker (`deletions`), then empties the message; an edit checks for the marker after
//!   writing and empties the message again if it finds one. Whichever order the writes land
//!   in, a deleted message ends empty.
//! - Reactions never touch the message document (see `reactions`).

use async_trait::async_trait;
use chat_core::model::{Changed, Message, Reacted, Timestamp};
use chat_core::store::{ConversationStore, ReactionChange};
use chat_core::{MessageId, Result, RoomId, UserId};
use futures_util::future::try_join_all;
use mongodb::bson::{Document, doc};

use crate::codec::{self, oid, seq_value};
use crate::error::MongoError;
use crate::schema::READS;
use crate::schema::field::*;
use crate::store::MongoStore;
use crate::users::limit;

impl MongoStore {
    /// Inserts the read mark `seq` (a mark already there is fine), then removes the marks
    /// below it.
    pub(crate) async fn advance_read(
        &self,
        room: RoomId,
        user: UserId,
        seq: u64,
    ) -> Result<(), MongoError> {
        let mark = doc! {
            ID: codec::read_key(room, user, seq),
            ROOM: oid(room.0),
            USER: oid(user.0),
            SEQ: seq_value(seq),
        };
        match self.read_inserts.insert(mark).await {
            Ok(_) => {}
            Err(error) if error.is_duplicate_key() => {}
            Err(error) => return Err(error),
        }
        self.run(self.reads.delete_many(doc! {
            ROOM: oid(room.0),
            USER: oid(user.0),
            SEQ: { "$lt": seq_value(seq) },
        }))
        .await?;
        Ok(())
    }

    /// The highest read mark of (room, user), 0 without one.
    async fn read_position(&self, room: RoomId, user: UserId) -> Result<u64, MongoError> {
        self.highest_seq(
            &self.reads,
            READS,
            doc! { ROOM: oid(room.0), USER: oid(user.0) },
        )
        .await
    }

    /// The stored document of the message `id` of `room`.
    async fn message_doc(&self, room: RoomId, id: MessageId) -> Result<Document, MongoError> {
        self.run(
            self.messages
                .find_one(doc! { ID: oid(id.0), ROOM: oid(room.0) }),
        )
        .await?
        .ok_or(MongoError::MessageNotFound)
    }

    /// Fails unless the message `id` of `room` exists and is not a tombstone.
    pub(crate) async fn live_message(&self, room: RoomId, id: MessageId) -> Result<(), MongoError> {
        let found = self.message_doc(room, id).await?;
        if found.get_bool(DELETED).unwrap_or(false) {
            return Err(MongoError::MessageDeleted);
        }
        Ok(())
    }

    /// Whether a deletion of `id` has begun (its marker is stored).
    pub(crate) async fn deletion_started(&self, id: MessageId) -> Result<bool, MongoError> {
        Ok(self
            .run(self.deletions.find_one(doc! { ID: oid(id.0) }))
            .await?
            .is_some())
    }

    /// Empties the message and drops its reactions and what it shows of its attachments
    /// (the files themselves go with `Engine::drop_attachments`).
    async fn wipe(&self, id: MessageId, at: Timestamp) -> Result<(), MongoError> {
        self.run(self.messages.update_one(
            doc! { ID: oid(id.0) },
            doc! {
                "$set": { TEXT: "", DELETED: true, CHANGED_AT: codec::date(at) },
                "$unset": { ATTACHMENTS: "" },
            },
        ))
        .await?;
        self.run(self.reactions.delete_many(doc! { MESSAGE: oid(id.0) }))
            .await?;
        Ok(())
    }

    /// The message as stored now, with its reactions.
    pub(crate) async fn current(&self, id: MessageId) -> Result<Message, MongoError> {
        let found = self
            .run(self.messages.find_one(doc! { ID: oid(id.0) }))
            .await?
            .ok_or(MongoError::MessageNotFound)?;
        let mut message = vec![codec::message(&found)?];
        self.attach_reactions(&mut message).await?;
        message.pop().ok_or(MongoError::MessageNotFound)
    }

    /// Messages by id, in any order, with their reactions.
    async fn messages_by_id(&self, ids: &[MessageId]) -> Result<Vec<Message>, MongoError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<_> = ids.iter().map(|id| oid(id.0)).collect();
        let found = self
            .find_sorted(
                &self.messages,
                doc! { ID: { "$in": ids } },
                doc! { SEQ: 1 },
                i64::MAX,
            )
            .await?;
        let mut messages = found
            .iter()
            .map(codec::message)
            .collect::<Result<Vec<_>, _>>()?;
        self.attach_reactions(&mut messages).await?;
        Ok(messages)
    }
}

#[async_trait]
impl ConversationStore for MongoStore {
    async fn mark_read(&self, room: RoomId, user: UserId, seq: u64) -> Result<u64> {
        self.advance_read(room, user, seq).await?;
        Ok(self.read_position(room, user).await?)
    }

    async fn read_positions(&self, keys: &[(RoomId, UserId)]) -> Result<Vec<u64>> {
        Ok(try_join_all(
            keys.iter()
                .map(|&(room, user)| self.read_position(room, user)),
        )
        .await?)
    }

    async fn page_after(&self, room: RoomId, after: u64, limit: usize) -> Result<Vec<Message>> {
        let Some(limit) = self::limit(limit) else {
            return Ok(Vec::new());
        };
        let found = self
            .find_sorted(
                &self.messages,
                doc! { ROOM: oid(room.0), SEQ: { "$gt": seq_value(after) } },
                doc! { SEQ: 1 },
                limit,
            )
            .await?;
        let mut page = found
            .iter()
            .map(codec::message)
            .collect::<Result<Vec<_>, MongoError>>()?;
        self.attach_reactions(&mut page).await?;
        Ok(page)
    }

    async fn edit_message(
        &self,
        room: RoomId,
        id: MessageId,
        text: &str,
        at: Timestamp,
    ) -> Result<Message> {
        self.live_message(room, id).await?;
        self.run(self.messages.update_one(
            doc! { ID: oid(id.0), DELETED: { "$ne": true } },
            doc! { "$set": {
                TEXT: text,
                EDITED_AT: codec::date(at),
                CHANGED_AT: codec::date(at),
            } },
        ))
        .await?;
        if self.deletion_started(id).await? {
            self.wipe(id, at).await?;
            return Err(MongoError::MessageDeleted.into());
        }
        Ok(self.current(id).await?)
    }

    async fn delete_message(&self, room: RoomId, id: MessageId, at: Timestamp) -> Result<Message> {
        let found = self.message_doc(room, id).await?;
        if found.get_bool(DELETED).unwrap_or(false) && found.get_str(TEXT) == Ok("") {
            return Ok(self.current(id).await?);
        }
        match self
            .run(
                self.deletions
                    .insert_one(doc! { ID: oid(id.0), ROOM: oid(room.0) }),
            )
            .await
        {
            Ok(_) => {}
            Err(error) if error.is_duplicate_key() => {}
            Err(error) => return Err(error.into()),
        }
        self.wipe(id, at).await?;
        Ok(self.current(id).await?)
    }

    async fn react(&self, change: ReactionChange<'_>, max_distinct: usize) -> Result<Reacted> {
        Ok(self.change_reaction(&change, max_distinct).await?)
    }

    /// Edits and deletions come from the messages' `changed_at`, reactions from their log;
    /// each message once, at its newest change.
    async fn changed(&self, room: RoomId, since: Timestamp, limit: usize) -> Result<Vec<Changed>> {
        let Some(max) = self::limit(limit) else {
            return Ok(Vec::new());
        };
        let since = codec::date(since);
        let (edited, reacted) = tokio::try_join!(
            self.find_sorted(
                &self.messages,
                doc! { ROOM: oid(room.0), CHANGED_AT: { "$gte": since } },
                doc! { CHANGED_AT: 1, SEQ: 1 },
                max,
            ),
            self.find_sorted(
                &self.reaction_changes,
                doc! { ROOM: oid(room.0), AT: { "$gte": since } },
                doc! { AT: 1 },
                max.saturating_mul(4),
            )
        )?;
        let mut times: std::collections::HashMap<MessageId, Timestamp> = Default::default();
        let mut note = |id: MessageId, at: Timestamp| {
            let entry = times.entry(id).or_insert(at);
            *entry = (*entry).max(at);
        };
        for doc in &edited {
            let message = codec::message(doc)?;
            note(message.id, codec::instant_of(doc, CHANGED_AT)?);
        }
        for doc in &reacted {
            let (id, at) = codec::reaction_change(doc)?;
            note(id, at);
        }
        let ids: Vec<MessageId> = times.keys().copied().collect();
        let mut changes: Vec<Changed> = self
            .messages_by_id(&ids)
            .await?
            .into_iter()
            .filter(|message| message.room_id == room)
            .map(|message| Changed {
                at: times[&message.id],
                message,
            })
            .collect();
        changes.sort_by_key(|changed| (changed.at, changed.message.seq));
        changes.truncate(limit);
        Ok(changes)
    }
}

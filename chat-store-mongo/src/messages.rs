//! Message history: appending with gapless per-room seqs, idempotent resends, and paging.
//!
//! The append protocol, safe with any number of servers writing to one room:
//!
//! 1. Take this process's turn in the room (`lanes`) and learn the room's head: the last seq
//!    this lane wrote, or else the room document's `last_seq` (which also proves the room
//!    exists).
//! 2. Insert the message with seq = head + 1. The unique (room, seq) index lets exactly one
//!    writer have each seq; the unique (room, sender, client key) index refuses a resend.
//! 3. On a duplicate key: if a message with this (room, sender, client key) exists, it is the
//!    original, returned with `created: false`. Otherwise another server took the seq: read the
//!    highest stored seq and try the next one.
//! 4. Move the room's `last_seq`, `last_message` and `last_activity` forward with an update
//!    that only applies while `last_seq` is lower, so a slower writer never moves it back.
//!
//! No seq is ever handed out before its message is stored, so a crash at any point leaves no
//! gap; it can only leave the room document behind (step 4 not done), which the next append
//! to the room repairs. The other design, `$inc` on the room then an insert, leaves a gap
//! forever when a server dies between the two.

use async_trait::async_trait;
use chat_core::model::{Appended, Message, NewMessage};
use chat_core::store::MessageStore;
use chat_core::{MessageId, Result, RoomId};
use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};

use crate::codec::{self, oid, seq_value, unsigned};
use crate::error::MongoError;
use crate::schema::field::*;
use crate::schema::{MESSAGES, ROOMS};
use crate::store::MongoStore;
use crate::users::limit;

/// How many times one append tries a fresh seq before giving up. Inside a process appends to a
/// room take turns, so each retry means another server won a seq; reaching this bound takes
/// dozens of servers hammering one room.
const MAX_ATTEMPTS: usize = 64;

impl MongoStore {
    /// The room document's `last_seq`; `None` when the room does not exist.
    async fn room_head(&self, room: RoomId) -> Result<Option<u64>, MongoError> {
        let found = self
            .run(
                self.rooms
                    .find_one(doc! { ID: oid(room.0) })
                    .projection(doc! { LAST_SEQ: 1 }),
            )
            .await?;
        found
            .map(|room| unsigned(&room, LAST_SEQ))
            .transpose()
            .map_err(|source| MongoError::Malformed {
                collection: ROOMS,
                source,
            })
    }

    /// The highest seq stored in the room's history (0 when empty), the truth that the room
    /// document's `last_seq` may lag behind. One step down the (room, seq) index.
    async fn stored_head(&self, room: RoomId) -> Result<u64, MongoError> {
        let found = self
            .run(
                self.messages
                    .find_one(doc! { ROOM: oid(room.0) })
                    .sort(doc! { SEQ: -1 })
                    .projection(doc! { SEQ: 1 }),
            )
            .await?;
        found
            .map_or(Ok(0), |message| unsigned(&message, SEQ))
            .map_err(|source| MongoError::Malformed {
                collection: MESSAGES,
                source,
            })
    }

    /// The message stored under an idempotency key, if any.
    async fn by_client_key(&self, message: &Message) -> Result<Option<Message>, MongoError> {
        let key = codec::client_key(message.id, message.client_id.as_deref());
        let found = self
            .run(self.messages.find_one(doc! {
                ROOM: oid(message.room_id.0),
                SENDER: oid(message.sender_id.0),
                CLIENT_KEY: key,
            }))
            .await?;
        found.as_ref().map(codec::message).transpose()
    }

    /// Step 4 of the protocol: make the room document reflect `message` unless it already
    /// reflects a later one.
    async fn advance_room(&self, message: &Message, stored: Document) -> Result<(), MongoError> {
        let seq = seq_value(message.seq);
        self.run(self.rooms.update_one(
            doc! { ID: oid(message.room_id.0), LAST_SEQ: { "$lt": seq } },
            doc! {
                "$set": { LAST_SEQ: seq, LAST_MESSAGE: stored },
                "$max": { LAST_ACTIVITY: codec::date(message.timestamp) },
            },
        ))
        .await?;
        Ok(())
    }

    /// Steps 2 and 3, starting from the believed head of the room; on success `head` is the
    /// seq now taken.
    async fn insert_next(
        &self,
        new: NewMessage,
        head: &mut u64,
    ) -> Result<(Message, bool), MongoError> {
        let mut message = new.with_seq(*head + 1);
        for _ in 0..MAX_ATTEMPTS {
            message.seq = *head + 1;
            match self
                .run(self.messages.insert_one(codec::message_doc(&message)))
                .await
            {
                Ok(_) => {
                    *head = message.seq;
                    return Ok((message, true));
                }
                Err(error) if error.is_duplicate_key() => {
                    if let Some(original) = self.by_client_key(&message).await? {
                        return Ok((original, false));
                    }
                    let stored = self.stored_head(message.room_id).await?;
                    if stored < message.seq {
                        // The seq was free, so the index that refused was `_id`'s.
                        return Err(MongoError::MessageIdTaken);
                    }
                    *head = stored;
                }
                Err(error) => return Err(error),
            }
        }
        Err(MongoError::Contention)
    }

    async fn find_messages(
        &self,
        filter: Document,
        limit: i64,
    ) -> Result<Vec<Message>, MongoError> {
        let found: Vec<Document> = self
            .run(async {
                self.messages
                    .find(filter)
                    .sort(doc! { SEQ: -1 })
                    .limit(limit)
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        found.iter().map(codec::message).collect()
    }
}

#[async_trait]
impl MessageStore for MongoStore {
    async fn append(&self, new: NewMessage) -> Result<Appended> {
        let mut turn = self.lanes.enter(new.room_id).await;
        let mut head = match *turn {
            Some(head) => head,
            None => self
                .room_head(new.room_id)
                .await?
                .ok_or(MongoError::RoomNotFound)?,
        };
        // Forget the head unless this append ends knowing it: after an ambiguous failure the
        // next turn must read it again.
        *turn = None;
        let (message, created) = self.insert_next(new, &mut head).await?;
        *turn = Some(head);
        if created {
            // The message is stored and its seq taken: from here on the append has succeeded.
            // If the room document cannot be moved forward now, the next append repairs it;
            // reporting a failure would make the client resend a message that others can
            // already read.
            if let Err(error) = self
                .advance_room(&message, codec::message_doc(&message))
                .await
            {
                tracing::warn!(room = %message.room_id, seq = message.seq, %error,
                    "message stored but its room summary is behind until the next message");
            }
        }
        Ok(Appended { message, created })
    }

    /// Keyset paging down the (room, seq) index: `seq < before`, newest first, `limit`. Never
    /// skip/limit, which would scan every message it skips.
    async fn page(&self, room: RoomId, before: Option<u64>, limit: usize) -> Result<Vec<Message>> {
        let Some(limit) = self::limit(limit) else {
            return Ok(Vec::new());
        };
        let mut filter = doc! { ROOM: oid(room.0) };
        if let Some(before) = before {
            filter.insert(SEQ, doc! { "$lt": seq_value(before) });
        }
        Ok(self.find_messages(filter, limit).await?)
    }

    async fn message(&self, id: MessageId) -> Result<Option<Message>> {
        let found = self
            .run(self.messages.find_one(doc! { ID: oid(id.0) }))
            .await?;
        Ok(found.as_ref().map(codec::message).transpose()?)
    }
}

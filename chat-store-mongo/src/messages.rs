//! Message history: appending with gapless per-room seqs, idempotent resends, and paging.
//!
//! The append protocol, safe with any number of servers writing to one room:
//!
//! 1. Take this process's turn in the room (`lanes`) and learn the room's head: the last seq
//!    this lane wrote if that was a moment ago, or else the highest stored seq (read together
//!    with the room document, which proves the room exists).
//! 2. Insert the message with seq = head + 1. The unique (room, seq) index lets exactly one
//!    writer have each seq; the unique (room, sender, client key) index refuses a resend.
//!    The insert travels with the other rooms' concurrent inserts in one unordered
//!    `insertMany` (`batch`), where each document succeeds or is refused on its own.
//! 3. On a duplicate key: if a message with this (room, sender, client key) exists, it is the
//!    original, returned with `created: false`. Otherwise another server took the seq: read the
//!    highest stored seq and try the next one.
//! 4. Raise the room's `last_activity` with `$max`, after the turn has passed on.
//!
//! No seq is ever handed out before its message is stored, so a crash at any point leaves no
//! gap. The other design, `$inc` on the room then an insert, leaves a gap forever when a server
//! dies between the two; and it needs single-document updates to be atomic, which FerretDB v1
//! does not give (it reads the document, applies the update in its own process and writes the
//! result back, so concurrent `$inc`s hand out the same seq). Only unique-index inserts are
//! atomic on every server this store supports, and the protocol rests on nothing else.

use async_trait::async_trait;
use chat_core::model::{Appended, Message, NewMessage, Timestamp};
use chat_core::search::SearchQuery;
use chat_core::store::MessageStore;
use chat_core::{MessageId, Result, RoomId};
use mongodb::bson::doc;

use crate::codec::{self, oid, seq_value};
use crate::error::MongoError;
use crate::schema::MESSAGES;
use crate::schema::field::*;
use crate::store::MongoStore;
use crate::users::limit;

/// How many times one append tries a fresh seq before giving up. Inside a process appends to a
/// room take turns, so each retry means another server won a seq; reaching this bound takes
/// dozens of servers hammering one room.
const MAX_ATTEMPTS: usize = 64;

impl MongoStore {
    async fn room_exists(&self, room: RoomId) -> Result<bool, MongoError> {
        let found = self
            .run(
                self.rooms
                    .find_one(doc! { ID: oid(room.0) })
                    .projection(doc! { ID: 1 }),
            )
            .await?;
        Ok(found.is_some())
    }

    /// The highest seq stored in the room's history, 0 when empty: one step down the
    /// (room, seq) index.
    async fn stored_head(&self, room: RoomId) -> Result<u64, MongoError> {
        self.highest_seq(&self.messages, MESSAGES, doc! { ROOM: oid(room.0) })
            .await
    }

    /// The newest message of a room, the same step down the index as [`Self::stored_head`].
    pub(crate) async fn latest_message(&self, room: RoomId) -> Result<Option<Message>, MongoError> {
        let found = self
            .run(
                self.messages
                    .find_one(doc! { ROOM: oid(room.0) })
                    .sort(doc! { SEQ: -1 }),
            )
            .await?;
        found.as_ref().map(codec::message).transpose()
    }

    /// The message stored under an idempotency key, if any.
    async fn by_client_key(
        &self,
        message: &Message,
        key: &str,
    ) -> Result<Option<Message>, MongoError> {
        let found = self
            .run(self.messages.find_one(doc! {
                ROOM: oid(message.room_id.0),
                SENDER: oid(message.sender_id.0),
                CLIENT_KEY: key,
            }))
            .await?;
        found.as_ref().map(codec::message).transpose()
    }

    /// Step 4: `$max` leaves a later activity in place, so updates may land in any order. On
    /// FerretDB v1, whose updates are not atomic, two racing updates can leave the earlier of
    /// two near-simultaneous times; that only affects the order of room lists, since readers
    /// take the last message from the history itself (see `rooms`).
    async fn touch_room(&self, room: RoomId, at: Timestamp) -> Result<(), MongoError> {
        self.run(self.rooms.update_one(
            doc! { ID: oid(room.0) },
            doc! { "$max": { LAST_ACTIVITY: codec::date(at) } },
        ))
        .await?;
        Ok(())
    }

    /// Steps 2 and 3, starting from the believed head of the room; on success `head` is the
    /// seq now taken.
    async fn insert_next(
        &self,
        mut message: Message,
        key: &str,
        head: &mut u64,
    ) -> Result<(Message, bool), MongoError> {
        for _ in 0..MAX_ATTEMPTS {
            message.seq = *head + 1;
            match self
                .message_inserts
                .insert(codec::entry_doc(&message, key))
                .await
            {
                Ok(_) => {
                    *head = message.seq;
                    return Ok((message, true));
                }
                Err(error) if error.is_duplicate_key() => {
                    if let Some(original) = self.by_client_key(&message, key).await? {
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

    /// The whole append protocol for one timeline entry (a message or a membership change),
    /// stored under the idempotency `key` (see `codec::client_key`; it is unique per room and
    /// sender). Returns the stored entry and whether this call stored it.
    pub(crate) async fn append_entry(
        &self,
        entry: Message,
        key: &str,
    ) -> Result<(Message, bool), MongoError> {
        let room = entry.room_id;
        let (message, created) = {
            let mut turn = self.lanes.enter(room).await;
            let mut head = match turn.get() {
                Some(head) => head,
                None => {
                    let (exists, head) =
                        tokio::try_join!(self.room_exists(room), self.stored_head(room))?;
                    if !exists {
                        return Err(MongoError::RoomNotFound);
                    }
                    head
                }
            };
            // Forget the head unless this append ends knowing it: after an ambiguous failure
            // the next turn must read it again.
            turn.set(None);
            let inserted = self.insert_next(entry, key, &mut head).await?;
            turn.set(Some(head));
            inserted
            // The turn ends here: the next append to the room may insert while this one
            // touches the room document.
        };
        if created {
            // The message is stored and its seq taken: from here on the append has succeeded.
            // Reporting a failure would make the client resend a message that others can
            // already read; a missed touch only leaves the room lower in room lists until its
            // next message.
            // Likewise, a sender whose read position stays behind its own message only sees
            // it counted as unread until its next read. The two are independent, so they
            // share their round trips.
            let (touched, advanced) = tokio::join!(
                self.touch_room(message.room_id, message.timestamp),
                self.advance_read(message.room_id, message.sender_id, message.seq)
            );
            if let Err(error) = touched {
                tracing::warn!(room = %message.room_id, seq = message.seq, %error,
                    "message stored but the room's last activity was not raised");
            }
            if let Err(error) = advanced {
                tracing::warn!(room = %message.room_id, seq = message.seq, %error,
                    "message stored but the sender's read position was not moved");
            }
        }
        Ok((message, created))
    }
}

#[async_trait]
impl MessageStore for MongoStore {
    async fn append(&self, new: NewMessage) -> Result<Appended> {
        let started = std::time::Instant::now();
        let key = codec::client_key(new.id, new.client_id.as_deref());
        let (message, created) = self.append_entry(new.with_seq(0), &key).await?;
        chat_core::metrics::store_commit("mongo", 1, started.elapsed());
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
        let found = self
            .find_sorted(&self.messages, filter, doc! { SEQ: -1 }, limit)
            .await?;
        let mut page = found
            .iter()
            .map(codec::message)
            .collect::<Result<Vec<_>, MongoError>>()?;
        self.attach_reactions(&mut page).await?;
        Ok(page)
    }

    async fn message(&self, id: MessageId) -> Result<Option<Message>> {
        let found = self
            .run(self.messages.find_one(doc! { ID: oid(id.0) }))
            .await?;
        let mut found: Vec<Message> = found
            .as_ref()
            .map(codec::message)
            .transpose()?
            .into_iter()
            .collect();
        self.attach_reactions(&mut found).await?;
        Ok(found.pop())
    }

    /// See `search`: the text index, or a scan on servers without one.
    async fn search(&self, query: &SearchQuery) -> Result<Vec<Message>> {
        self.search_messages(query).await
    }
}

//! Reactions: one document per (message, user, emoji), unique by `_id`, so adding one twice
//! (from any number of servers) stores it once. Each change also moves the message's entry in
//! `reaction_changes` (one per message, keyed by its id, holding its newest reaction change),
//! which catch-up pages by; the message document itself is never updated for a reaction, so a
//! reaction can never undo a racing edit or deletion.
//!
//! The limit on distinct emoji per message is checked before inserting; two servers adding
//! two new emoji at the same instant may pass it by one.

use chat_core::MessageId;
use chat_core::model::{Message, Reacted, Reaction};
use chat_core::store::ReactionChange;
use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Document, doc};

use crate::codec::{self, oid};
use crate::error::MongoError;
use crate::schema::field::*;
use crate::store::MongoStore;

impl MongoStore {
    /// Fills in the reactions of `messages` with one query.
    pub(crate) async fn attach_reactions(
        &self,
        messages: &mut [Message],
    ) -> Result<(), MongoError> {
        let ids: Vec<ObjectId> = messages
            .iter()
            .filter(|message| !message.deleted)
            .map(|message| oid(message.id.0))
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        let found: Vec<Document> = self
            .run(async {
                self.reactions
                    .find(doc! { MESSAGE: { "$in": ids } })
                    .sort(doc! { ORDER: 1 })
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        for doc in &found {
            let (message_id, user, emoji) = codec::reaction(doc)?;
            let Some(message) = messages.iter_mut().find(|message| message.id == message_id) else {
                continue;
            };
            match message
                .reactions
                .iter_mut()
                .find(|reaction| reaction.emoji == emoji)
            {
                Some(reaction) => reaction.users.push(user),
                None => message.reactions.push(Reaction {
                    emoji,
                    users: vec![user],
                }),
            }
        }
        Ok(())
    }

    /// The distinct emoji on a message.
    async fn distinct_emoji(&self, id: MessageId) -> Result<Vec<String>, MongoError> {
        let found: Vec<Document> = self
            .run(async {
                self.reactions
                    .find(doc! { MESSAGE: oid(id.0) })
                    .projection(doc! { EMOJI: 1 })
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        let mut emoji: Vec<String> = found
            .iter()
            .filter_map(|doc| doc.get_str(EMOJI).ok().map(str::to_owned))
            .collect();
        emoji.sort();
        emoji.dedup();
        Ok(emoji)
    }

    /// Adds or removes one reaction, logs the change, and answers the message as it is now.
    pub(crate) async fn change_reaction(
        &self,
        change: &ReactionChange<'_>,
        max_distinct: usize,
    ) -> Result<Reacted, MongoError> {
        self.live_message(change.room, change.message).await?;
        let key = codec::reaction_key(change.message, change.user, change.emoji);
        let changed = if change.add {
            let emoji = self.distinct_emoji(change.message).await?;
            if !emoji.iter().any(|used| used == change.emoji) && emoji.len() >= max_distinct {
                return Err(MongoError::TooManyReactions);
            }
            let reaction = doc! {
                ID: &key,
                ROOM: oid(change.room.0),
                MESSAGE: oid(change.message.0),
                USER: oid(change.user.0),
                EMOJI: change.emoji,
                ORDER: ObjectId::new(),
            };
            match self.run(self.reactions.insert_one(reaction)).await {
                Ok(_) => true,
                Err(error) if error.is_duplicate_key() => false,
                Err(error) => return Err(error),
            }
        } else {
            self.run(self.reactions.delete_one(doc! { ID: &key }))
                .await?
                .deleted_count
                > 0
        };
        if changed {
            self.log_reaction_change(change).await?;
        }
        if self.deletion_started(change.message).await? {
            self.run(
                self.reactions
                    .delete_many(doc! { MESSAGE: oid(change.message.0) }),
            )
            .await?;
            return Err(MongoError::MessageDeleted);
        }
        Ok(Reacted {
            message: self.current(change.message).await?,
            changed,
        })
    }

    /// Moves the message's entry in the change log to `change.at` (never back), creating it on
    /// the first change: the log holds one document per reacted message, however often its
    /// reactions change. Two servers creating the same entry at once collide on `_id`; the
    /// loser's second try finds the entry and updates it.
    async fn log_reaction_change(&self, change: &ReactionChange<'_>) -> Result<(), MongoError> {
        let entry = doc! { ID: oid(change.message.0) };
        let update = doc! {
            "$set": { ROOM: oid(change.room.0), MESSAGE: oid(change.message.0) },
            "$max": { AT: codec::date(change.at) },
        };
        let upsert = || {
            self.reaction_changes
                .update_one(entry.clone(), update.clone())
                .upsert(true)
        };
        match self.run(upsert()).await {
            Err(error) if error.is_duplicate_key() => self.run(upsert()).await.map(drop),
            result => result.map(drop),
        }
    }
}

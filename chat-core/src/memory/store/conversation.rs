//! The memory store's conversation state: read positions, edits, deletions, reactions and
//! the change feed.

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::{Error, Result};
use crate::id::{MessageId, RoomId, UserId};
use crate::model::{Changed, Message, Reacted, Reaction, Timestamp};
use crate::store::{ConversationStore, ReactionChange};

#[async_trait]
impl ConversationStore for MemoryStore {
    async fn mark_read(&self, room: RoomId, user: UserId, seq: u64) -> Result<u64> {
        let position = self.state().advance_read(room, user, seq);
        self.answer_later(Ok(position)).await
    }

    async fn read_positions(&self, keys: &[(RoomId, UserId)]) -> Result<Vec<u64>> {
        let state = self.state();
        Ok(keys
            .iter()
            .map(|key| state.reads.get(key).copied().unwrap_or(0))
            .collect())
    }

    async fn page_after(&self, room: RoomId, after: u64, limit: usize) -> Result<Vec<Message>> {
        let state = self.state();
        let Some(history) = state.history.get(&room) else {
            return Ok(Vec::new());
        };
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(history.len());
        Ok(history[start..].iter().take(limit).cloned().collect())
    }

    async fn edit_message(
        &self,
        room: RoomId,
        id: MessageId,
        text: &str,
        at: Timestamp,
    ) -> Result<Message> {
        self.answer_later(self.edit_now(room, id, text, at)).await
    }

    async fn delete_message(&self, room: RoomId, id: MessageId, at: Timestamp) -> Result<Message> {
        self.answer_later(self.delete_now(room, id, at)).await
    }

    async fn react(&self, change: ReactionChange<'_>, max_distinct: usize) -> Result<Reacted> {
        self.answer_later(self.react_now(&change, max_distinct))
            .await
    }

    async fn changed(&self, room: RoomId, since: Timestamp, limit: usize) -> Result<Vec<Changed>> {
        let state = self.state();
        let mut found: Vec<Changed> = state
            .changed
            .iter()
            .filter(|(_, at)| **at >= since)
            .filter_map(|(id, at)| {
                let &(found_room, index) = state.messages.get(id)?;
                (found_room == room).then(|| Changed {
                    at: *at,
                    message: state.history[&room][index].clone(),
                })
            })
            .collect();
        found.sort_by_key(|changed| (changed.at, changed.message.seq));
        found.truncate(limit);
        Ok(found)
    }
}

impl MemoryStore {
    /// Edits the message at once; [`ConversationStore::edit_message`] answers it later.
    fn edit_now(&self, room: RoomId, id: MessageId, text: &str, at: Timestamp) -> Result<Message> {
        let mut state = self.state();
        let message = state.message_mut(room, id)?;
        if message.deleted {
            return Err(Error::Conflict("the message was deleted".into()));
        }
        message.text = text.to_owned();
        message.edited_at = Some(at);
        let message = message.clone();
        state.changed(&message, at);
        Ok(message)
    }

    /// Deletes the message at once; [`ConversationStore::delete_message`] answers it later.
    fn delete_now(&self, room: RoomId, id: MessageId, at: Timestamp) -> Result<Message> {
        let mut state = self.state();
        let message = state.message_mut(room, id)?;
        if message.deleted {
            return Ok(message.clone());
        }
        message.text = String::new();
        message.reactions.clear();
        message.attachments.clear();
        message.deleted = true;
        let message = message.clone();
        state.changed(&message, at);
        Ok(message)
    }

    /// Adds or removes the reaction at once; [`ConversationStore::react`] answers it later.
    fn react_now(&self, change: &ReactionChange<'_>, max_distinct: usize) -> Result<Reacted> {
        let mut state = self.state();
        let message = state.message_mut(change.room, change.message)?;
        if message.deleted {
            return Err(Error::Conflict("the message was deleted".into()));
        }
        let existing = message
            .reactions
            .iter()
            .position(|reaction| reaction.emoji == change.emoji);
        let changed = match (existing, change.add) {
            (Some(index), true) => {
                let users = &mut message.reactions[index].users;
                let new = !users.contains(&change.user);
                if new {
                    users.push(change.user);
                }
                new
            }
            (None, true) => {
                if message.reactions.len() >= max_distinct {
                    return Err(Error::Conflict("too many distinct reactions".into()));
                }
                message.reactions.push(Reaction {
                    emoji: change.emoji.to_owned(),
                    users: vec![change.user],
                });
                true
            }
            (Some(index), false) => {
                let users = &mut message.reactions[index].users;
                let before = users.len();
                users.retain(|&user| user != change.user);
                let gone = users.len() != before;
                if users.is_empty() {
                    message.reactions.remove(index);
                }
                gone
            }
            (None, false) => false,
        };
        let message = message.clone();
        if changed {
            state.changed(&message, change.at);
        }
        Ok(Reacted { message, changed })
    }
}

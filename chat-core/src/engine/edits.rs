//! Changing sent messages: edits by their author, deletions (tombstones) by the author or a
//! group's owners and admins, and reactions by any member. Each change is stored, then told
//! to the room's members, on a task of its own once the store is asked (so a cancelled
//! request cannot leave a stored change untold).

use crate::error::{Error, Result};
use crate::event::ServerEvent;
use crate::id::{MessageId, RoomId};
use crate::membership::Role;
use crate::model::{Message, Reacted, RoomKind, User, now};
use crate::store::ReactionChange;

use super::reads::Audience;
use super::{Engine, validate};

/// The most distinct emoji one message carries.
pub const MAX_DISTINCT_REACTIONS: usize = 20;

impl Engine {
    /// Replaces the text of `caller`'s own message `id` in `room` (same rules as sending);
    /// the message keeps its seq and gains `edited_at`. Someone else's message is
    /// `Forbidden`; a membership entry is `Invalid`; a deleted one is a `Conflict`.
    pub async fn edit_message(
        &self,
        caller: &User,
        room: RoomId,
        id: MessageId,
        text: &str,
    ) -> Result<Message> {
        validate::message_text(text, self.inner.config.max_message_bytes)?;
        self.members_for(caller.id, room).await?;
        let original = self.message_in(room, id).await?;
        if original.event.is_some() {
            return Err(Error::Invalid("membership entries cannot be edited".into()));
        }
        if original.sender_id != caller.id {
            return Err(Error::Forbidden(
                "only the author may edit a message".into(),
            ));
        }
        let text = text.to_owned();
        self.carried(move |engine| async move {
            let edited = engine
                .inner
                .store
                .edit_message(room, id, &text, now())
                .await?;
            engine.notify(
                room,
                Audience::Room,
                ServerEvent::MessageEdited(edited.clone()),
            );
            Ok(edited)
        })
        .await
    }

    /// Deletes the message `id` of `room` for good: its author may, and so may a group's
    /// owners and admins. The stored text is removed, and so are its attached files (records
    /// and bytes); the tombstone keeps its seq, sender and time. Deleting a tombstone again
    /// tells nobody, and only retries removing files an earlier deletion left behind.
    pub async fn delete_message(
        &self,
        caller: &User,
        room: RoomId,
        id: MessageId,
    ) -> Result<Message> {
        self.members_for(caller.id, room).await?;
        let original = self.message_in(room, id).await?;
        if original.event.is_some() {
            return Err(Error::Invalid(
                "membership entries cannot be deleted".into(),
            ));
        }
        if original.sender_id != caller.id && !self.moderates(caller, room).await? {
            return Err(Error::Forbidden(
                "only the author or a group's owners and admins may delete a message".into(),
            ));
        }
        if original.deleted {
            self.drop_attachments(&original).await?;
            return Ok(original);
        }
        self.carried(move |engine| async move {
            let tombstone = engine.inner.store.delete_message(room, id, now()).await?;
            engine.notify(
                room,
                Audience::Room,
                ServerEvent::MessageDeleted {
                    room_id: room,
                    id,
                    seq: tombstone.seq,
                },
            );
            engine.drop_attachments(&original).await?;
            Ok(tombstone)
        })
        .await
    }

    /// Adds (`add`) or removes `caller`'s reaction `emoji` on the message `id` of `room`.
    /// Reacting twice with one emoji, or removing a reaction that is not there, changes
    /// nothing and tells nobody.
    pub async fn react(
        &self,
        caller: &User,
        room: RoomId,
        id: MessageId,
        emoji: &str,
        add: bool,
    ) -> Result<Reacted> {
        validate::emoji(emoji)?;
        self.members_for(caller.id, room).await?;
        let (user, emoji) = (caller.id, emoji.to_owned());
        self.carried(move |engine| async move {
            let change = ReactionChange {
                room,
                message: id,
                user,
                emoji: &emoji,
                add,
                at: now(),
            };
            let reacted = engine
                .inner
                .store
                .react(change, MAX_DISTINCT_REACTIONS)
                .await?;
            if reacted.changed {
                engine.notify(
                    room,
                    Audience::Room,
                    ServerEvent::Reaction {
                        room_id: room,
                        message_id: id,
                        emoji,
                        user_id: user,
                        added: add,
                    },
                );
            }
            Ok(reacted)
        })
        .await
    }

    /// The message `id` if it belongs to `room`.
    async fn message_in(&self, room: RoomId, id: MessageId) -> Result<Message> {
        self.inner
            .store
            .message(id)
            .await?
            .filter(|message| message.room_id == room)
            .ok_or_else(|| Error::NotFound("message not found".into()))
    }

    /// Whether `caller` is an owner or admin of the group `room` (never of a direct room).
    async fn moderates(&self, caller: &User, room: RoomId) -> Result<bool> {
        let Some(found) = self.inner.store.room(room).await? else {
            return Ok(false);
        };
        if found.kind != RoomKind::Group {
            return Ok(false);
        }
        let member = self.inner.store.member(room, caller.id).await?;
        Ok(member.is_some_and(|member| matches!(member.role, Role::Owner | Role::Admin)))
    }
}

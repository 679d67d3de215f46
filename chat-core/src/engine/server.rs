//! Server-side sends: the host's own code (or an operator through the bundled server's API)
//! sends as the system user or as a bot into any room, creates groups and adds members.
//!
//! The host is trusted: its sends need no membership (the sender is not made a member, so a
//! bot can speak in any room, direct ones included, without appearing in member lists), no
//! rate limit and no [`on_send`](crate::hooks::Hooks::on_send) verdict. Everything else a
//! user's send promises holds: the message is durable before anyone receives it, takes the
//! room's next seq, and a resend with the same `client_id` from the same sender stores
//! nothing and returns the original.

use crate::error::{Error, Result};
use crate::id::{RoomId, UserId};
use crate::membership::{Change, GroupUpdate};
use crate::model::{Message, User, now};

use super::{Engine, validate};

/// Whom a server-side send speaks as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerSender {
    /// The engine's system user ([`Engine::system_user`]).
    System,
    /// Any existing user, typically a host-owned bot ([`Engine::upsert_external_user`]).
    User(UserId),
}

impl Engine {
    /// The user `sender` names; `NotFound` for an unknown user.
    pub async fn server_sender(&self, sender: ServerSender) -> Result<User> {
        match sender {
            ServerSender::System => self.system_user().await,
            ServerSender::User(id) => self.user(id).await,
        }
    }

    /// Stores `text` from `sender` in `room` and delivers it to the room's members, without
    /// a membership check, rate limit or `on_send` hook (the host is trusted; everything else
    /// a user's send promises holds). Unknown rooms are `NotFound`; the text is checked like
    /// a user's.
    pub async fn send_as(
        &self,
        sender: ServerSender,
        room: RoomId,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<Message> {
        validate::message_text(text, self.inner.config.max_message_bytes)?;
        if let Some(client_id) = client_id {
            validate::client_id(client_id)?;
        }
        let admitted = self.inner.admission.admit()?;
        let sender = self.server_sender(sender).await?;
        self.inner
            .store
            .room(room)
            .await?
            .ok_or_else(|| Error::NotFound("room not found".into()))?;
        let sent = self
            .append_and_fanout(admitted, &sender, room, text, client_id, &[])
            .await;
        crate::metrics::message_sent(sent.as_ref().map(|(_, created)| *created));
        sent.map(|(message, _)| message)
    }

    /// Creates a group named `name` owned by `owner` (the system user or a bot), with
    /// `members` as members; like [`Engine::create_group`] by that user.
    pub async fn create_group_as(
        &self,
        owner: ServerSender,
        name: &str,
        members: &[UserId],
    ) -> Result<GroupUpdate> {
        let owner = self.server_sender(owner).await?;
        self.create_group(owner.id, name, members).await
    }

    /// Adds `users` to the group `room` on the system user's authority, whoever its owners
    /// are: members already in it are skipped, unknown users are `NotFound`, a full room is
    /// a `Conflict`, a direct room is `Invalid`.
    pub async fn add_members_as_server(
        &self,
        room: RoomId,
        users: &[UserId],
    ) -> Result<GroupUpdate> {
        let system = self.system_user().await?;
        self.all_exist(users).await?;
        let change = Change {
            room,
            actor: system.id,
            actor_name: system.name,
            at: now(),
        };
        self.record_members_added(change, users.to_vec()).await
    }
}

//! Sending and reading messages.

use crate::error::{Error, Result};
use crate::event::{Outbound, ServerEvent};
use crate::id::{MessageId, RoomId};
use crate::model::{Message, NewMessage, User, now};

use super::{Engine, validate};

/// The largest history page; larger requests get this many.
pub const MAX_PAGE: usize = 100;

impl Engine {
    /// Stores a message from `sender` in `room` and delivers it to every member's sockets,
    /// the sender's own included (that echo is the acknowledgement).
    ///
    /// The message is durable before anyone receives it. A resend with a `client_id` the
    /// sender already used in this room stores nothing and acknowledges the original again.
    pub async fn send(
        &self,
        sender: &User,
        room: RoomId,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<Message> {
        validate::message_text(text, self.inner.config.max_message_bytes)?;
        if let Some(client_id) = client_id {
            validate::client_id(client_id)?;
        }
        self.members_for(sender.id, room).await?;
        if !self.allow_send(sender).await {
            return Err(Error::RateLimited("sending too fast; slow down".into()));
        }
        let appended = self
            .inner
            .store
            .append(NewMessage {
                id: MessageId::generate(),
                room_id: room,
                sender_id: sender.id,
                sender_name: sender.name.clone(),
                text: text.to_owned(),
                client_id: client_id.map(str::to_owned),
                timestamp: now(),
            })
            .await?;
        let message = appended.message;
        let event = ServerEvent::Message(message.clone());
        if appended.created {
            self.fanout_room(room, event);
        } else {
            let report = self
                .inner
                .hub
                .deliver_users(&[sender.id], &Outbound::new(event));
            self.handle_report(report);
        }
        Ok(message)
    }

    /// A page of `room`'s history for `caller`, newest first: at most `limit` messages older
    /// than the message `before` (the newest when `None`).
    pub async fn history(
        &self,
        caller: &User,
        room: RoomId,
        before: Option<MessageId>,
        limit: usize,
    ) -> Result<Vec<Message>> {
        self.members_for(caller.id, room).await?;
        let before_seq = match before {
            None => None,
            Some(cursor) => {
                let message = self
                    .inner
                    .store
                    .message(cursor)
                    .await?
                    .filter(|message| message.room_id == room)
                    .ok_or_else(|| Error::Invalid("unknown paging cursor".into()))?;
                Some(message.seq)
            }
        };
        self.inner
            .store
            .page(room, before_seq, limit.clamp(1, MAX_PAGE))
            .await
    }

    async fn allow_send(&self, sender: &User) -> bool {
        let shared = self.inner.limiter.allow(sender.id);
        match self.sidecar("rate limiter", shared).await {
            Ok(allowed) => allowed,
            Err(err) => {
                tracing::warn!(error = %err, "shared rate limiter failed; using the local one");
                self.inner.fallback_limiter.allow_now(sender.id)
            }
        }
    }
}

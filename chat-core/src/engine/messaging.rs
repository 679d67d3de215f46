//! Sending and reading messages.

use std::borrow::Cow;

use crate::error::{Error, Result};
use crate::event::{Outbound, ServerEvent};
use crate::hooks::OutgoingMessage;
use crate::id::{FileId, MessageId, RoomId};
use crate::metrics;
use crate::model::{Message, NewMessage, User, now};

use super::admission::Admitted;
use super::{Engine, validate};

/// The largest history page; larger requests get this many.
pub const MAX_PAGE: usize = 100;

/// A send past admission, owned so that its own task can carry it.
struct AdmittedSend {
    sender: User,
    room: RoomId,
    text: String,
    client_id: Option<String>,
    files: Vec<FileId>,
}

impl Engine {
    /// Stores a message from `sender` in `room` and delivers it to every member's sockets,
    /// the sender's own included (that echo is the acknowledgement).
    ///
    /// The message is durable before anyone receives it. A resend with a `client_id` the
    /// sender already used in this room stores nothing and acknowledges the original again.
    /// The host's [`on_send`](crate::hooks::Hooks::on_send) hook decides before anything is
    /// stored: a rejection fails the send with `Error::Rejected`, a rewrite is stored instead.
    pub async fn send(
        &self,
        sender: &User,
        room: RoomId,
        text: &str,
        client_id: Option<&str>,
    ) -> Result<Message> {
        self.send_with_files(sender, room, text, client_id, &[])
            .await
    }

    /// [`Engine::send`] with attachments: `files` are the sender's own uploads to `room`, not
    /// attached to any message yet (else `Error::Forbidden`, `Error::Conflict`); with files,
    /// the text may be empty. The stored and delivered message lists them with their
    /// metadata, in the order given. A resend with the same `client_id` acknowledges the
    /// original, whose files these already are.
    pub async fn send_with_files(
        &self,
        sender: &User,
        room: RoomId,
        text: &str,
        client_id: Option<&str>,
        files: &[FileId],
    ) -> Result<Message> {
        let sent = self
            .store_and_fanout(sender, room, text, client_id, files)
            .await;
        metrics::message_sent(sent.as_ref().map(|(_, created)| *created));
        sent.map(|(message, _)| message)
    }

    /// [`Engine::send_with_files`]'s work; the flag is true when the message is new (not a
    /// resend).
    async fn store_and_fanout(
        &self,
        sender: &User,
        room: RoomId,
        text: &str,
        client_id: Option<&str>,
        files: &[FileId],
    ) -> Result<(Message, bool)> {
        let max = self.inner.config.max_message_bytes;
        if files.is_empty() {
            validate::message_text(text, max)?;
        } else {
            validate::caption(text, max)?;
            validate::attachments(files)?;
        }
        if let Some(client_id) = client_id {
            validate::client_id(client_id)?;
        }
        let admitted = self.inner.admission.admit()?;
        self.members_for(sender.id, room).await?;
        if !self.allow_send(sender).await {
            metrics::rate_limited(metrics::Limit::Send);
            return Err(Error::RateLimited("sending too fast; slow down".into()));
        }
        let outgoing = OutgoingMessage {
            sender,
            room,
            text,
            client_id,
            files,
        };
        let decided = self.decide_send(outgoing).await?;
        if let Cow::Owned(rewritten) = &decided {
            if files.is_empty() {
                validate::message_text(rewritten, max)?;
            } else {
                validate::caption(rewritten, max)?;
            }
        }
        self.append_and_fanout(admitted, sender, room, &decided, client_id, files)
            .await
    }

    /// Stores a checked, `admitted` message (attaching its files) and fans it out: the part
    /// of a send that keeps the guarantees, shared with server-side sends. The flag is true
    /// when the message is new (not a resend).
    ///
    /// Once admitted, the send is carried on a task of its own, so what its caller does
    /// meanwhile cannot hold it back: a socket loop busy writing to a slow client would
    /// otherwise leave its stored message unannounced while the room's later messages pass
    /// it (the room's line then holds them behind a gap), and a caller that goes away (a
    /// closed socket, a cancelled request) would leave it stored but never delivered live.
    pub(super) async fn append_and_fanout(
        &self,
        mut admitted: Admitted,
        sender: &User,
        room: RoomId,
        text: &str,
        client_id: Option<&str>,
        files: &[FileId],
    ) -> Result<(Message, bool)> {
        admitted.reached_store();
        let send = AdmittedSend {
            sender: sender.clone(),
            room,
            text: text.to_owned(),
            client_id: client_id.map(str::to_owned),
            files: files.to_vec(),
        };
        self.carried(move |engine| async move {
            let result = engine.carry(send).await;
            drop(admitted);
            result
        })
        .await
    }

    /// [`Engine::append_and_fanout`]'s work, on its own task.
    async fn carry(&self, send: AdmittedSend) -> Result<(Message, bool)> {
        let AdmittedSend {
            sender,
            room,
            text,
            client_id,
            files,
        } = send;
        let id = MessageId::generate();
        let attachments = match self.attach(&sender, room, id, &files).await {
            Ok(attachments) => attachments,
            Err(err @ Error::Conflict(_)) => {
                let original = match &client_id {
                    Some(client_id) => {
                        self.attached_original(&sender, room, client_id, &files)
                            .await?
                    }
                    None => None,
                };
                let Some(original) = original else {
                    return Err(err);
                };
                self.acknowledge_again(&sender, &original);
                return Ok((original, false));
            }
            Err(err) => return Err(err),
        };
        let attached = !attachments.is_empty();
        let appended = self
            .inner
            .store
            .append(NewMessage {
                id,
                room_id: room,
                sender_id: sender.id,
                sender_name: sender.name.clone(),
                text,
                client_id,
                timestamp: now(),
                attachments,
            })
            .await;
        if attached && !appended.as_ref().is_ok_and(|appended| appended.created) {
            self.inner.store.detach_files(id).await?;
        }
        let appended = appended?;
        let message = appended.message;
        if appended.created {
            self.fanout_room(room, ServerEvent::Message(message.clone()));
            self.notify_sent(&message);
        } else {
            self.acknowledge_again(&sender, &message);
        }
        Ok((message, appended.created))
    }

    /// Sends the sender's sockets the stored original of a resend, as its acknowledgement.
    fn acknowledge_again(&self, sender: &User, original: &Message) {
        let event = Outbound::new(ServerEvent::Message(original.clone()));
        let report = self.inner.hub.deliver_users(&[sender.id], &event);
        self.handle_report(report);
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

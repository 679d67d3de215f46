//! Read positions and receipts: how far each member has read a room, and who hears of it.
//!
//! A member's read position is the highest `seq` it has read; it only moves forward, and
//! sending moves the sender's own position to its message. A room's unread count for a member
//! is the room's newest seq minus that position: both are kept with the room and the
//! membership, so a room list costs one lookup per room, never a walk of a history.
//!
//! Receipts: in rooms of up to [`RECEIPT_ROOM_LIMIT`] members every member's sockets hear each
//! move (a few hundred events a second at worst). Above it only the reader's own sockets and the
//! author of the newest message read hear it, so a read costs at most two recipients whatever
//! the room's size: a 10,000-member room where everyone reads costs 10,000 events, not 10⁸.

use crate::error::Result;
use crate::event::ServerEvent;
use crate::id::{RoomId, UserId};
use crate::model::User;

use super::Engine;

/// The largest room whose members all hear every read receipt.
pub const RECEIPT_ROOM_LIMIT: usize = 100;

impl Engine {
    /// Moves `caller`'s read position in `room` up to `seq` (clamped to the room's newest
    /// seq; a lower one than the current position is ignored) and tells the room; returns the
    /// position after the call.
    pub async fn mark_read(&self, caller: &User, room: RoomId, seq: u64) -> Result<u64> {
        let members = self.members_for(caller.id, room).await?;
        let key = [(room, caller.id)];
        let (found, current) = tokio::try_join!(
            self.inner.store.room(room),
            self.inner.store.read_positions(&key)
        )?;
        let head = found
            .and_then(|room| room.last_message)
            .map_or(0, |last| last.seq);
        let current = current.first().copied().unwrap_or(0);
        let seq = seq.min(head);
        if seq <= current {
            return Ok(current);
        }
        let reader = caller.id;
        self.carried(move |engine| async move {
            let position = engine.inner.store.mark_read(room, reader, seq).await?;
            if position == seq {
                let audience = engine.receipt_audience(reader, room, &members, seq).await?;
                engine.notify(
                    room,
                    audience,
                    ServerEvent::Read {
                        room_id: room,
                        user_id: reader,
                        seq,
                    },
                );
            }
            Ok(position)
        })
        .await
    }

    /// Who hears that `reader` read `room` up to `seq`: the whole room when it is small; in
    /// big ones the reader (its other devices) and the author of the message at `seq`.
    async fn receipt_audience(
        &self,
        reader: UserId,
        room: RoomId,
        members: &[UserId],
        seq: u64,
    ) -> Result<Audience> {
        if members.len() <= RECEIPT_ROOM_LIMIT {
            return Ok(Audience::Room);
        }
        let mut recipients = vec![reader];
        let newest_read = self.inner.store.page(room, Some(seq + 1), 1).await?;
        if let Some(author) = newest_read.first().map(|message| message.sender_id)
            && author != reader
        {
            recipients.push(author);
        }
        Ok(Audience::Users(recipients))
    }

    /// The read positions of every member of a room of up to [`RECEIPT_ROOM_LIMIT`] members
    /// (what "seen by" is drawn from); bigger rooms get only the caller's.
    pub async fn read_positions(&self, caller: UserId, room: RoomId) -> Result<Vec<(UserId, u64)>> {
        let members = self.members_for(caller, room).await?;
        let users: Vec<UserId> = if members.len() <= RECEIPT_ROOM_LIMIT {
            members.to_vec()
        } else {
            vec![caller]
        };
        let keys: Vec<(RoomId, UserId)> = users.iter().map(|&user| (room, user)).collect();
        let positions = self.inner.store.read_positions(&keys).await?;
        Ok(users.into_iter().zip(positions).collect())
    }

    /// Delivers a conversation event (receipt, typing, edit, deletion, reaction) of `room` to
    /// its audience's sockets on every node: the one place these events enter the fanout.
    pub(crate) fn notify(&self, room: RoomId, audience: Audience, event: ServerEvent) {
        match audience {
            Audience::Room => self.fanout_room(room, event),
            Audience::Users(users) => self.fanout_users(&users, event),
        }
    }
}

/// Who a conversation event is for.
pub(crate) enum Audience {
    /// Every socket following the room.
    Room,
    /// These users' sockets only.
    Users(Vec<UserId>),
}

//! Events pushed to connected users, and the shared envelope the fanout hands to every socket.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::id::{MessageId, RoomId, UserId};
use crate::membership::RoomEvent;
use crate::model::Message;

/// Something a connected user is told about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ServerEvent {
    /// A message was stored in one of the user's rooms.
    Message(Message),
    /// A user sharing a room with the recipient came online or went offline.
    Presence {
        /// Whose presence changed.
        user_id: UserId,
        /// The new state.
        online: bool,
    },
    /// A member's read position in a room moved up.
    Read {
        /// The room.
        room_id: RoomId,
        /// Who read.
        user_id: UserId,
        /// Everything up to this seq is read.
        seq: u64,
    },
    /// A member is typing in a room; never stored.
    Typing {
        /// The room.
        room_id: RoomId,
        /// Who types.
        user_id: UserId,
        /// Their display name, so clients need no lookup.
        name: String,
    },
    /// The author changed a message's text; the message as it is now.
    MessageEdited(Message),
    /// A message became a tombstone.
    MessageDeleted {
        /// The room.
        room_id: RoomId,
        /// The message.
        id: MessageId,
        /// Its position, which it keeps.
        seq: u64,
    },
    /// A reaction was added or removed.
    Reaction {
        /// The room.
        room_id: RoomId,
        /// The message.
        message_id: MessageId,
        /// The emoji.
        emoji: String,
        /// Who reacted.
        user_id: UserId,
        /// Added (true) or removed (false).
        added: bool,
    },
    /// Between nodes only, on [`NODE_NOTICES`](crate::bus::NODE_NOTICES): some of the
    /// user's sessions were revoked (logout, password change, operator), so every node forgets
    /// what it cached and closes the sockets of revoked sessions.
    SessionsRevoked {
        /// Whose sessions.
        user_id: UserId,
    },
    /// Between nodes only, on [`NODE_NOTICES`](crate::bus::NODE_NOTICES), published before
    /// the entry recording the change: the room's members changed, so every node drops the
    /// member list it cached for it, and the nodes with sockets of the `joined` users let
    /// those sockets follow the room from `from_seq` on (watching its topic if they did not).
    MembersChanged {
        /// The room.
        room_id: RoomId,
        /// Who became a member (a direct room opened, a group created or added to); empty
        /// when members only left.
        joined: Vec<UserId>,
        /// The seq of the entry that made them members (for a direct room, the next seq).
        from_seq: u64,
    },
}

impl ServerEvent {
    /// The room and position of a message event; what the hub orders by.
    pub fn room_seq(&self) -> Option<(RoomId, u64)> {
        match self {
            ServerEvent::Message(message) => Some((message.room_id, message.seq)),
            _ => None,
        }
    }

    /// The user whose membership a timeline entry starts (`Joined`) or ends (`Gone`); the
    /// hub stops sending the room to a `Gone` user's sockets after this entry.
    pub fn membership(&self) -> Option<Membership> {
        let ServerEvent::Message(message) = self else {
            return None;
        };
        match message.event.as_ref()? {
            RoomEvent::Added { user_id, .. } => Some(Membership::Joined(*user_id)),
            RoomEvent::Removed { user_id } | RoomEvent::Left { user_id } => {
                Some(Membership::Gone(*user_id))
            }
            _ => None,
        }
    }
}

/// A membership a timeline entry starts or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// The user was added: it follows the room from this entry on.
    Joined(UserId),
    /// The user left or was removed: this entry is the last it gets of the room.
    Gone(UserId),
}

/// One event on its way to many sockets.
///
/// The transport encodes it once, on first use, and every other socket reuses those bytes:
/// fanout to N sockets costs one serialization and N reference-count increments.
#[derive(Debug)]
pub struct Outbound {
    event: ServerEvent,
    encoded: OnceLock<Bytes>,
}

/// A shared, cheaply cloned [`Outbound`]; what socket queues hold.
pub type Delivery = Arc<Outbound>;

impl Outbound {
    /// Wraps an event for fanout.
    pub fn new(event: ServerEvent) -> Delivery {
        Arc::new(Outbound {
            event,
            encoded: OnceLock::new(),
        })
    }

    /// The event itself.
    pub fn event(&self) -> &ServerEvent {
        &self.event
    }

    /// The encoded form, computed by `encode` for the first socket and reused by all others.
    pub fn encoded(&self, encode: impl FnOnce(&ServerEvent) -> Bytes) -> Bytes {
        self.encoded.get_or_init(|| encode(&self.event)).clone()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[test]
    fn an_event_is_encoded_once_however_many_sockets_read_it() {
        let delivery = Outbound::new(ServerEvent::Presence {
            user_id: UserId::generate(),
            online: true,
        });
        let encodings = AtomicUsize::new(0);
        let copies: Vec<Delivery> = (0..100).map(|_| delivery.clone()).collect();
        for copy in &copies {
            let bytes = copy.encoded(|_| {
                encodings.fetch_add(1, Ordering::Relaxed);
                Bytes::from_static(b"{}")
            });
            assert_eq!(bytes, Bytes::from_static(b"{}"));
        }
        assert_eq!(encodings.load(Ordering::Relaxed), 1);
    }
}

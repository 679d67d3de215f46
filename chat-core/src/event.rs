//! Events pushed to connected users, and the shared envelope the fanout hands to every socket.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::id::{RoomId, UserId};
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
}

impl ServerEvent {
    /// The room and position of a message event; what the hub orders by.
    pub fn room_seq(&self) -> Option<(RoomId, u64)> {
        match self {
            ServerEvent::Message(message) => Some((message.room_id, message.seq)),
            ServerEvent::Presence { .. } => None,
        }
    }
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

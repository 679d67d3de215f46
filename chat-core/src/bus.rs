//! The cross-node relay: how an event reaches sockets on other nodes.
//!
//! Events travel on topics: a room's topic carries what happens in the room (one publication
//! per event, however many members), a user's topic what concerns that user alone (presence,
//! joining a room). A node watches the rooms and users it has sockets for, so it receives
//! nothing for rooms none of its users belong to.
//!
//! The bus only relays between nodes; local delivery never waits on it. Delivery is
//! at-most-once (Redis pub/sub is), which is safe because every message is stored before it
//! is published: a node that sees a gap reads the missing messages back from the store.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::error::Result;
use crate::event::ServerEvent;
use crate::id::{MalformedId, NodeId, RawId, RoomId, UserId};

/// The recipient every node watches for notices meant for all nodes
/// ([`ServerEvent::SessionsRevoked`], [`ServerEvent::MembersChanged`]): the all-zero id, which
/// no user has (a generated id starts with the time it was made). Notices thus travel the
/// topic machinery every bus already has, with its reconnects and resubscriptions.
pub const NODE_NOTICES: Topic = Topic::User(UserId(RawId::from_bytes([0; 12])));

/// Where an event travels between nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Topic {
    /// What concerns one user: presence of its contacts, rooms it joins.
    User(UserId),
    /// What happens in one room: messages and timeline entries, in seq order.
    Room(RoomId),
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::User(user) => write!(f, "u:{user}"),
            Topic::Room(room) => write!(f, "r:{room}"),
        }
    }
}

impl std::str::FromStr for Topic {
    type Err = MalformedId;

    /// Parses what [`Topic`]'s `Display` wrote.
    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        match text.split_once(':') {
            Some(("u", id)) => Ok(Topic::User(id.parse()?)),
            Some(("r", id)) => Ok(Topic::Room(id.parse()?)),
            _ => Err(MalformedId),
        }
    }
}

/// What a node receives from the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every value is an event, moved once from the bus into the hub; boxing it \
              would add an allocation per relayed event to spare the rare `Reconnected`"
)]
pub enum Inbound {
    /// An event published on `topic`, which this node watches.
    Event {
        /// Where it was published.
        topic: Topic,
        /// What happened.
        event: ServerEvent,
    },
    /// The bus lost its connection and has it back: events may have been missed meanwhile.
    Reconnected,
}

/// Relays events between the nodes of one deployment.
///
/// Contract: events published by one node on one topic arrive at every other node that
/// watches that topic, in publication order, at most once; never at the publishing node.
/// Publications of one node on different topics arrive in publication order too, at a node
/// watching both. A node receives nothing for topics it does not watch.
#[async_trait]
pub trait Bus: Send + Sync {
    /// This node's identity on the bus.
    fn node(&self) -> NodeId;

    /// Sends `event` to the other nodes on each of `topics`.
    async fn publish(&self, topics: &[Topic], event: &ServerEvent) -> Result<()>;

    /// Starts receiving `topic`; returns once the bus confirmed it.
    async fn watch(&self, topic: Topic) -> Result<()>;

    /// Stops receiving `topic`.
    async fn unwatch(&self, topic: Topic) -> Result<()>;

    /// The stream of inbound events; `None` after the first call.
    fn take_inbound(&self) -> Option<mpsc::Receiver<Inbound>>;

    /// Whether the bus is connected now; readiness reports it.
    fn is_connected(&self) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip_through_their_names() {
        for topic in [
            Topic::User(UserId::generate()),
            Topic::Room(RoomId::generate()),
        ] {
            assert_eq!(topic.to_string().parse::<Topic>(), Ok(topic));
        }
        assert!("x:abc".parse::<Topic>().is_err());
        assert!("u".parse::<Topic>().is_err());
    }
}

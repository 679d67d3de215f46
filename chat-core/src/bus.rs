//! The cross-node relay: how an event reaches users whose sockets are on other nodes.
//!
//! The bus only relays between nodes; local delivery never waits on it. Delivery is
//! at-most-once (Redis pub/sub is), which is safe because every message is stored before it
//! is published: a node that sees a gap reads the missing messages back from the store.

use async_trait::async_trait;
use tokio::sync::mpsc;

use crate::error::Result;
use crate::event::ServerEvent;
use crate::id::{NodeId, RawId, UserId};

/// The recipient every node watches for account notices
/// ([`ServerEvent::SessionsRevoked`]): the all-zero id, which no user has (a generated id
/// starts with the time it was made). Notices thus travel the user-channel machinery every
/// bus already has, with its reconnects and resubscriptions.
pub const ACCOUNT_NOTICES: UserId = UserId(RawId::from_bytes([0; 12]));

/// What a node receives from the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::large_enum_variant,
    reason = "nearly every value is an event, moved once from the bus into the hub; boxing it \
              would add an allocation per relayed event to spare the rare `Reconnected`"
)]
pub enum Inbound {
    /// An event for `user`, who has (or recently had) a socket on this node.
    Event {
        /// The recipient.
        user: UserId,
        /// What happened.
        event: ServerEvent,
    },
    /// The bus lost its connection and has it back: events may have been missed meanwhile.
    Reconnected,
}

/// Relays events between the nodes of one deployment.
///
/// Contract: events published by one node for one user arrive at every other node that
/// watches that user, in publication order, at most once; never at the publishing node.
/// A node receives nothing for users it does not watch.
#[async_trait]
pub trait Bus: Send + Sync {
    /// This node's identity on the bus.
    fn node(&self) -> NodeId;

    /// Sends `event` to the other nodes for each of `recipients`.
    async fn publish(&self, recipients: &[UserId], event: &ServerEvent) -> Result<()>;

    /// Starts receiving events for `user` (their first socket opened here).
    async fn watch(&self, user: UserId) -> Result<()>;

    /// Stops receiving events for `user` (their last socket here closed).
    async fn unwatch(&self, user: UserId) -> Result<()>;

    /// The stream of inbound events; `None` after the first call.
    fn take_inbound(&self) -> Option<mpsc::Receiver<Inbound>>;

    /// Whether the bus is connected now; readiness reports it.
    fn is_connected(&self) -> bool;
}

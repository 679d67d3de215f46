//! Who is online: a user is online while any of their sockets is open on any node.

use async_trait::async_trait;

use crate::error::Result;
use crate::id::{ConnId, UserId};

/// Tracks open sockets per user across nodes.
///
/// Contract: `connect` and `disconnect` return the user's socket count across all nodes after
/// the change, so 1 after `connect` means "came online" and 0 after `disconnect` means "went
/// offline". Sockets of a node that stops heartbeating expire after the implementation's TTL
/// and are then reported once by `expired`.
#[async_trait]
pub trait Presence: Send + Sync {
    /// Records an open socket.
    async fn connect(&self, user: UserId, conn: ConnId) -> Result<usize>;

    /// Forgets a socket.
    async fn disconnect(&self, user: UserId, conn: ConnId) -> Result<usize>;

    /// Whether each of `users` is online, in the same order.
    async fn online(&self, users: &[UserId]) -> Result<Vec<bool>>;

    /// Keeps this node's sockets alive; called periodically with all of them.
    async fn heartbeat(&self, sockets: &[(UserId, ConnId)]) -> Result<()>;

    /// Users whose last socket expired (its node died) since the last call, so that someone
    /// tells their contacts they went offline.
    async fn expired(&self) -> Result<Vec<UserId>>;
}

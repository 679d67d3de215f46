//! Tunables of the engine, with the defaults the server ships.

use std::time::Duration;

use crate::limits::Quota;

/// Limits and timings; one struct so the server can fill it from flags.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Longest message text, in bytes of UTF-8.
    pub max_message_bytes: usize,
    /// Open sockets one user may have at once, across all nodes.
    pub max_sockets_per_user: usize,
    /// Events one socket may have queued before it is cut off as too slow.
    pub socket_queue: usize,
    /// Per-user send quota.
    pub quota: Quota,
    /// How long a session token stays valid.
    pub token_lifetime: Duration,
    /// How long a user's line waits for a missing message before reading it from the store.
    pub gap_wait: Duration,
    /// The most a send or a connect waits on presence, limits or the bus before going on
    /// without them: a slow Redis must not stall chat.
    pub sidecar_timeout: Duration,
    /// How often this node refreshes its sockets' presence and looks for expired nodes.
    pub presence_heartbeat: Duration,
    /// The shortest time between two presence events about one user: a user who flaps
    /// online and offline faster is announced once per window, with the final state last.
    pub presence_window: Duration,
    /// The most members a group room may have, its owner included.
    pub max_room_members: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            max_message_bytes: 16 * 1024,
            max_sockets_per_user: 16,
            socket_queue: 256,
            quota: Quota::default(),
            token_lifetime: Duration::from_secs(7 * 24 * 3600),
            gap_wait: Duration::from_millis(150),
            sidecar_timeout: Duration::from_millis(300),
            presence_heartbeat: Duration::from_secs(15),
            presence_window: Duration::from_secs(3),
            max_room_members: 10_000,
        }
    }
}

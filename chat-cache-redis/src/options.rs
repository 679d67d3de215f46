//! Tunables of the Redis sidecars, with the defaults the server ships.

use std::time::Duration;

use chat_core::limits::Quota;

/// How the sidecars name their keys and how long they wait; one struct so the server can
/// fill it from flags.
#[derive(Debug, Clone)]
pub struct RedisOptions {
    /// Starts every key and channel name, so several deployments (or tests) can share one
    /// Redis. Must not contain `{` or `}`: presence keys wrap it in a cluster hash tag.
    pub key_prefix: String,
    /// How long a socket stays online without a heartbeat: a killed node's users go offline
    /// this long after its last heartbeat (plus one heartbeat period of whoever notices).
    /// Keep it about three heartbeat periods so one late heartbeat loses nobody.
    pub presence_ttl: Duration,
    /// The per-user send quota; use the engine's, so the fallback limiter agrees.
    pub quota: Quota,
    /// The most any call waits for Redis before failing with `Unavailable`. Keep it below
    /// the engine's `sidecar_timeout`: a call the engine abandons first never tells this
    /// crate that Redis hangs, so later calls would not fail at once.
    pub command_timeout: Duration,
    /// The most one connection attempt waits.
    pub connect_timeout: Duration,
    /// First pause before reconnecting the bus; doubled (with jitter) after each failure.
    pub reconnect_min: Duration,
    /// Longest pause between reconnection attempts, which bounds how long after Redis comes
    /// back the bus notices.
    pub reconnect_max: Duration,
    /// How often the bus pings Redis, to notice a Redis that went silent without closing the
    /// connection.
    pub ping_interval: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            key_prefix: "chat:".into(),
            presence_ttl: Duration::from_secs(45),
            quota: Quota::default(),
            command_timeout: Duration::from_millis(250),
            connect_timeout: Duration::from_secs(1),
            reconnect_min: Duration::from_millis(100),
            reconnect_max: Duration::from_secs(2),
            ping_interval: Duration::from_secs(5),
        }
    }
}

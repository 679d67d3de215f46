//! Connecting: one call opens everything a node needs from Redis.

use redis::Client;

use crate::bus::RedisBus;
use crate::error::RedisError;
use crate::keys::Keys;
use crate::limits::RedisRateLimiter;
use crate::options::RedisOptions;
use crate::presence::RedisPresence;
use crate::requests::Requests;

/// The three sidecars of one node, sharing one command connection; the bus also holds a
/// pub/sub connection of its own.
///
/// Each node calls [`RedisSidecars::connect`] once with the same URL and key prefix, and
/// hands the parts to `chat_core::EngineBuilder` (`bus`, `presence`, `rate_limiter`).
pub struct RedisSidecars {
    /// Relays events to the other nodes.
    pub bus: RedisBus,
    /// Who is online across all nodes.
    pub presence: RedisPresence,
    /// The per-user send quota, across all nodes.
    pub limiter: RedisRateLimiter,
}

impl RedisSidecars {
    /// Connects to the Redis at `url` (`redis://host:port/db`).
    ///
    /// Fails if Redis does not answer within [`RedisOptions::connect_timeout`]: a node that
    /// is told to use Redis should not start without it. Once connected, outages are survived:
    /// calls fail fast while Redis is away and both connections come back by themselves.
    pub async fn connect(url: &str, options: RedisOptions) -> Result<Self, RedisError> {
        let keys = Keys::new(&options.key_prefix)?;
        let client = Client::open(url)?;
        let requests = Requests::connect(&client, &options).await?;
        let bus = RedisBus::start(client, keys.clone(), requests.clone(), &options).await?;
        Ok(RedisSidecars {
            bus,
            presence: RedisPresence::new(requests.clone(), keys.clone(), options.presence_ttl),
            limiter: RedisRateLimiter::new(requests, keys, options.quota),
        })
    }
}

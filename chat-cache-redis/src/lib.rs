//! `chat-cache-redis`: the sidecars that let several `chat` nodes behave as one service,
//! on one Redis: a cross-node [`Bus`](chat_core::bus::Bus) ([`RedisBus`]), shared
//! [`Presence`](chat_core::presence::Presence) ([`RedisPresence`]) and a shared
//! [`RateLimiter`](chat_core::limits::RateLimiter) ([`RedisRateLimiter`]).
//!
//! [`RedisSidecars::connect`] opens the connections and returns all three; hand them to
//! `chat_core::EngineBuilder`. Every call is bounded by [`RedisOptions::command_timeout`],
//! and for a moment after one finds Redis unreachable the others fail at once without
//! trying, so a dead Redis fails fast with `chat_core::Error::Unavailable` and the engine
//! falls back to local behaviour; both connections come back by themselves when Redis does.
//!
//! Module map: `sidecars` connects; `bus` with its two tasks, `publisher` and
//! `subscriber`, and the wire format in `envelope`; `presence` and `limits` with their Lua
//! scripts in `scripts/`; `requests` bounds every command and remembers an unreachable
//! Redis; `keys` names everything; `options` and `error` are what callers configure and see.
//!
//! # Layout in Redis
//!
//! All names start with [`RedisOptions::key_prefix`] (`chat:` by default; tests use a random
//! one so they never see each other). Every name is built in one module, `keys`.
//!
//! | name | kind | what |
//! |------|------|------|
//! | `{p}r:{room}` | channel | events of one room (messages, timeline entries); the nodes with a socket following the room subscribe |
//! | `{p}u:{user}` | channel | events for one user (presence); the nodes where the user has sockets subscribe |
//! | `{p}u:000000000000000000000000` | channel | notices for every node (revoked sessions, membership changes); every node subscribes |
//! | `{{p}presence:{shard}}:sockets:{user}` | sorted set | the user's sockets, scored by expiry (ms, Redis clock) |
//! | `{{p}presence:{shard}}:expiry` | sorted set | users of the shard, scored by their last socket's expiry; expires an hour after the shard's last heartbeat |
//! | `{p}rate:{user}` | string | the user's GCRA "theoretical arrival time" (µs), expiring when the bucket is full again |
//! | `{p}attempts:{key}` | string | the same for a named attempt bucket (logins per address or account, registrations per address) |
//!
//! # The bus: one channel per topic
//!
//! A node subscribes to the channel of each room a local socket follows and of each user who
//! has a socket on it (the engine watches and unwatches as its hub's interest changes), so it
//! receives no traffic for rooms and users it has no socket for, and a message to a room of
//! 10,000 members is one `PUBLISH` that reaches each serving node once. `publish` serializes
//! the event once (JSON, with the origin node) and
//! queues it for a publisher task, which writes one `PUBLISH` per topic, pipelining
//! everything queued into one round trip, in publication order; `publish` does not wait for
//! Redis, so the engine's ordered publish loop is not held to one event per round trip. A
//! batch Redis refuses is retried in order for up to 10 s, so a short outage delays
//! cross-node delivery rather than losing it. The publishing node drops its own
//! publications when they come back on topics it also watches. Redis pub/sub is at-most-once: events published
//! while a node is disconnected are lost, which is why the node emits
//! `Inbound::Reconnected` after every reconnect (and after dropping events because the
//! engine fell behind): the engine then re-reads recent history to fill gaps.
//!
//! One task owns the pub/sub connection: it applies watch/unwatch (batched into one
//! `SUBSCRIBE`/`UNSUBSCRIBE` per burst), pings to detect a silent Redis, reconnects with
//! jittered exponential backoff, re-subscribes every watched topic, then reports
//! `Reconnected`. `RedisBus::is_connected` is that connection's state.
//!
//! # Redis Cluster
//!
//! The channel names carry no hash tag, so their hash slots spread uniformly over the
//! cluster. With Redis 7 sharded pub/sub the same layout maps directly: `SSUBSCRIBE
//! {p}r:{room}` on the shard owning the channel's slot and `SPUBLISH` to it, so a message only
//! travels within the shard owning the room's slot instead of being broadcast over the
//! cluster bus as plain `PUBLISH` is; a node keeps one subscriber connection per shard and
//! re-subscribes a slot's channels when the slot moves (`SUNSUBSCRIBE` push). This crate
//! implements plain `SUBSCRIBE`/`PUBLISH` on one Redis (the `redis` crate's async `PubSub`
//! has no sharded variant); switching is a change to `subscriber` and `publisher` only.
//!
//! Presence keys are tagged `{{p}presence:{shard}}`, with users spread over 16 shards by id:
//! the scripts only ever touch one user's socket set and its shard's expiry index, which
//! share a slot, so every script is cluster-legal and presence spreads over up to 16 slots.
//! A rate-limit script touches one key.
//!
//! # Presence
//!
//! A socket is a member of its user's sorted set, scored with the time it expires (Redis's
//! clock, so nodes' clocks do not matter): now + [`RedisOptions::presence_ttl`] on connect
//! and on every heartbeat. Lua scripts drop expired members before counting, so `connect`
//! and `disconnect` return the live count atomically. The shard's expiry index holds each
//! user's latest expiry; `expired` finds users past it and claims each with a script that
//! removes them from the index, so across all nodes exactly one reports a dead node's user.
//! A heartbeat re-creates sockets Redis lost (it runs without persistence); the price is
//! that a heartbeat racing a disconnect can resurrect that socket until its TTL, after which
//! `expired` reports the user offline.
//!
//! # Rate limits
//!
//! GCRA in one Lua script per `allow`: the key holds the time the bucket is empty up to,
//! which is all a token bucket needs; it expires when the bucket would be full again.

mod bus;
mod envelope;
mod error;
mod keys;
mod limits;
mod options;
mod presence;
mod publisher;
mod requests;
mod sidecars;
mod subscriber;

pub use bus::RedisBus;
pub use error::RedisError;
pub use limits::RedisRateLimiter;
pub use options::RedisOptions;
pub use presence::RedisPresence;
pub use sidecars::RedisSidecars;

//! Shared by the Redis tests: nodes with a key prefix of their own, so tests never see each
//! other's keys or channels. The servers themselves come from `chat-testkit`.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::sync::Arc;

use chat_cache_redis::{RedisOptions, RedisSidecars};
use chat_core::bus::Bus;
use chat_core::limits::{Quota, RateLimiter};
use chat_core::presence::Presence;
use chat_core::testing::bus::BusPair;
use chat_core::testing::limits::LimiterPair;
use chat_core::testing::presence::PresencePair;

/// Options with a fresh key prefix, so each test has Redis to itself.
pub fn options() -> RedisOptions {
    RedisOptions {
        key_prefix: format!("test:{}:", chat_core::NodeId::generate()),
        ..RedisOptions::default()
    }
}

/// One node's sidecars.
pub async fn node(url: &str, options: &RedisOptions) -> RedisSidecars {
    RedisSidecars::connect(url, options.clone())
        .await
        .expect("connect to redis")
}

/// Two nodes of one deployment on the shared Redis.
pub async fn nodes(options: &RedisOptions) -> Option<(RedisSidecars, RedisSidecars)> {
    let url = chat_testkit::redis_url()?;
    Some((node(&url, options).await, node(&url, options).await))
}

/// Factory for the presence suite.
pub async fn presence_pair() -> Option<PresencePair> {
    let (one, two) = nodes(&options()).await?;
    let one: Arc<dyn Presence> = Arc::new(one.presence);
    let two: Arc<dyn Presence> = Arc::new(two.presence);
    Some((one, two))
}

/// Factory for the limits suite.
pub async fn limiter_pair(quota: Quota) -> Option<LimiterPair> {
    let (one, two) = nodes(&RedisOptions { quota, ..options() }).await?;
    let one: Arc<dyn RateLimiter> = Arc::new(one.limiter);
    let two: Arc<dyn RateLimiter> = Arc::new(two.limiter);
    Some((one, two))
}

/// Factory for the bus suite.
pub async fn bus_pair() -> Option<BusPair> {
    let (one, two) = nodes(&options()).await?;
    let one: Arc<dyn Bus> = Arc::new(one.bus);
    let two: Arc<dyn Bus> = Arc::new(two.bus);
    Some((one, two))
}

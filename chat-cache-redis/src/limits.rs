//! A per-user send quota shared by every node: GCRA in one Lua script, so concurrent sends
//! from several nodes never take more than the bucket holds.

use std::sync::LazyLock;

use async_trait::async_trait;
use chat_core::limits::{Quota, RateLimiter};
use chat_core::{Result, UserId};
use redis::Script;

use crate::keys::Keys;
use crate::requests::Requests;

static ALLOW: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/rate_limit.lua")));

/// The shared limiter; see the crate docs for the algorithm and the key.
#[derive(Clone)]
pub struct RedisRateLimiter {
    requests: Requests,
    keys: Keys,
    interval_us: u64,
    burst: u32,
}

impl RedisRateLimiter {
    pub(crate) fn new(requests: Requests, keys: Keys, quota: Quota) -> Self {
        RedisRateLimiter {
            requests,
            keys,
            interval_us: 1_000_000 / u64::from(quota.per_second.max(1)),
            burst: quota.burst.max(1),
        }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn allow(&self, user: UserId) -> Result<bool> {
        let mut call = ALLOW.prepare_invoke();
        call.key(self.keys.rate(user))
            .arg(self.interval_us)
            .arg(self.burst);
        Ok(self.requests.script(&call).await?)
    }
}

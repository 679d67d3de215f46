//! A per-user send quota shared by every node: GCRA in one Lua script, so concurrent sends
//! from several nodes never take more than the bucket holds.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use chat_core::limits::{AttemptQuota, Quota, RateLimiter};
use chat_core::{Result, UserId};
use redis::Script;

use crate::keys::Keys;
use crate::requests::Requests;

static GCRA: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("scripts/gcra.lua")));

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

    /// Takes a token from the bucket at `key`: `None` when allowed, else how long until a
    /// token is free.
    async fn take(&self, key: String, interval_us: u64, burst: u32) -> Result<Option<Duration>> {
        let mut call = GCRA.prepare_invoke();
        call.key(key).arg(interval_us).arg(burst);
        let wait_us: u64 = self.requests.script(&call).await?;
        Ok((wait_us > 0).then(|| Duration::from_micros(wait_us)))
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn allow(&self, user: UserId) -> Result<bool> {
        let wait = self
            .take(self.keys.rate(user), self.interval_us, self.burst)
            .await?;
        Ok(wait.is_none())
    }

    async fn attempt(&self, key: &str, quota: AttemptQuota) -> Result<Option<Duration>> {
        if quota.is_off() {
            return Ok(None);
        }
        let interval_us = quota.interval().as_micros() as u64;
        self.take(self.keys.attempts(key), interval_us, quota.burst.max(1))
            .await
    }
}

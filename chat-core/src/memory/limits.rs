//! Per-user token buckets within one process, on the `governor` crate's GCRA limiter, and
//! attempt buckets by name (GCRA too, in a map).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use governor::{DefaultKeyedRateLimiter, Quota as GovernorQuota, RateLimiter as Governor};

use crate::error::Result;
use crate::id::UserId;
use crate::limits::{AttemptQuota, Quota, RateLimiter};

/// Attempt buckets kept before drained-and-refilled ones are swept.
const ATTEMPT_KEYS_SWEEP: usize = 10_000;

/// A keyed limiter; memory grows with active users and is trimmed as buckets refill.
pub struct MemoryRateLimiter {
    limiter: DefaultKeyedRateLimiter<UserId>,
    /// Per key, the instant up to which its attempt bucket is drained.
    attempts: Mutex<HashMap<String, Instant>>,
}

impl MemoryRateLimiter {
    /// A limiter enforcing `quota` for each user.
    pub fn new(quota: Quota) -> Self {
        let per_second = NonZeroU32::new(quota.per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(quota.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = GovernorQuota::per_second(per_second).allow_burst(burst);
        MemoryRateLimiter {
            limiter: Governor::keyed(quota),
            attempts: Mutex::default(),
        }
    }

    /// Takes a token without awaiting; the engine's fallback when a shared limiter is down.
    pub fn allow_now(&self, user: UserId) -> bool {
        let allowed = self.limiter.check_key(&user).is_ok();
        if self.limiter.len() > 100_000 {
            self.limiter.retain_recent();
        }
        allowed
    }

    /// Takes an attempt without awaiting (GCRA, as the Redis script does).
    pub fn attempt_now(&self, key: &str, quota: AttemptQuota) -> Option<Duration> {
        if quota.is_off() {
            return None;
        }
        let now = Instant::now();
        let interval = quota.interval();
        let capacity = interval * quota.burst.max(1);
        let mut attempts = self
            .attempts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let drained_until = attempts.get(key).copied().unwrap_or(now).max(now);
        let next_until = drained_until + interval;
        if next_until - now > capacity {
            return Some((next_until - now - capacity).max(Duration::from_millis(1)));
        }
        attempts.insert(key.to_owned(), next_until);
        if attempts.len() > ATTEMPT_KEYS_SWEEP {
            attempts.retain(|_, until| *until > now);
        }
        None
    }
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn allow(&self, user: UserId) -> Result<bool> {
        Ok(self.allow_now(user))
    }

    async fn attempt(&self, key: &str, quota: AttemptQuota) -> Result<Option<Duration>> {
        Ok(self.attempt_now(key, quota))
    }
}

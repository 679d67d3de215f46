//! Per-user token buckets within one process, on the `governor` crate's GCRA limiter.

use std::num::NonZeroU32;

use async_trait::async_trait;
use governor::{DefaultKeyedRateLimiter, Quota as GovernorQuota, RateLimiter as Governor};

use crate::error::Result;
use crate::id::UserId;
use crate::limits::{Quota, RateLimiter};

/// A keyed limiter; memory grows with active users and is trimmed as buckets refill.
pub struct MemoryRateLimiter {
    limiter: DefaultKeyedRateLimiter<UserId>,
}

impl MemoryRateLimiter {
    /// A limiter enforcing `quota` for each user.
    pub fn new(quota: Quota) -> Self {
        let per_second = NonZeroU32::new(quota.per_second.max(1)).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(quota.burst.max(1)).unwrap_or(NonZeroU32::MIN);
        let quota = GovernorQuota::per_second(per_second).allow_burst(burst);
        MemoryRateLimiter {
            limiter: Governor::keyed(quota),
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
}

#[async_trait]
impl RateLimiter for MemoryRateLimiter {
    async fn allow(&self, user: UserId) -> Result<bool> {
        Ok(self.allow_now(user))
    }
}

//! Per-user send quotas, and attempt limits per named key (logins, registrations).

use std::time::Duration;

use async_trait::async_trait;

use crate::error::Result;
use crate::id::UserId;

/// A token bucket per user: `per_second` sustained, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Sustained sends per second.
    pub per_second: u32,
    /// How many sends may come at once after a quiet period.
    pub burst: u32,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            per_second: 30,
            burst: 120,
        }
    }
}

/// A token bucket for attempts: `per_minute` sustained, up to `burst` at once; a
/// `per_minute` of 0 turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptQuota {
    /// Sustained attempts per minute; 0 means unlimited.
    pub per_minute: u32,
    /// Attempts allowed at once after a quiet period.
    pub burst: u32,
}

impl AttemptQuota {
    /// No limit.
    pub const OFF: AttemptQuota = AttemptQuota {
        per_minute: 0,
        burst: 0,
    };

    /// Whether this quota limits anything.
    pub fn is_off(&self) -> bool {
        self.per_minute == 0
    }

    /// The time one attempt's token takes to come back.
    pub fn interval(&self) -> Duration {
        Duration::from_micros(60_000_000 / u64::from(self.per_minute.max(1)))
    }
}

/// Decides whether a user may send now.
///
/// Contract: over any window, a user gets at most `burst + per_second × seconds` sends,
/// counted across every node that shares the limiter.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Takes one token for `user`; false when the bucket is empty.
    async fn allow(&self, user: UserId) -> Result<bool>;

    // Attempt limits (logins, registrations), keyed by any name.

    /// Takes one token from the bucket named `key` under `quota`: `None` when allowed,
    /// otherwise how long until the next token. Buckets are shared like the send quotas
    /// (across nodes when the limiter is); callers keep keys of different quotas apart.
    ///
    /// Contract: over any window, `key` gets at most `burst + per_minute × minutes` attempts,
    /// and the wait returned is never zero.
    async fn attempt(&self, key: &str, quota: AttemptQuota) -> Result<Option<Duration>>;
}

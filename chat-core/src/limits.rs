//! Per-user send quotas.

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

/// Decides whether a user may send now.
///
/// Contract: over any window, a user gets at most `burst + per_second × seconds` sends,
/// counted across every node that shares the limiter.
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Takes one token for `user`; false when the bucket is empty.
    async fn allow(&self, user: UserId) -> Result<bool>;
}

//! The rate-limit checks: one public async function per promise of the [`RateLimiter`] trait.
//!
//! Each check gets two limiters built with [`QUOTA`] that share their buckets, as two nodes
//! of a deployment would (for the in-process limiter, the same instance twice).

use std::sync::Arc;
use std::time::Duration;

use crate::id::UserId;
use crate::limits::{AttemptQuota, Quota, RateLimiter};

/// The quota every limiter under test is built with: slow enough that a loaded machine
/// finishes a burst well within one refill interval (500 ms).
pub const QUOTA: Quota = Quota {
    per_second: 2,
    burst: 5,
};

/// Two nodes' limiters over the same buckets.
pub type LimiterPair = (Arc<dyn RateLimiter>, Arc<dyn RateLimiter>);

/// Lets the conformance macro accept a pair or an optional one.
pub trait IntoLimiterOption {
    /// `None` means "skip: backend not configured".
    fn into_limiter_option(self) -> Option<LimiterPair>;
}

impl IntoLimiterOption for LimiterPair {
    fn into_limiter_option(self) -> Option<LimiterPair> {
        Some(self)
    }
}

impl IntoLimiterOption for Option<LimiterPair> {
    fn into_limiter_option(self) -> Option<LimiterPair> {
        self
    }
}

/// Used by the macro.
pub fn into_option(value: impl IntoLimiterOption) -> Option<LimiterPair> {
    value.into_limiter_option()
}

async fn allowed(limiter: &Arc<dyn RateLimiter>, user: UserId, attempts: u32) -> u32 {
    let mut allowed = 0;
    for _ in 0..attempts {
        if limiter.allow(user).await.unwrap() {
            allowed += 1;
        }
    }
    allowed
}

/// A fresh user gets exactly `burst` sends at once, then one more per refill interval.
pub async fn burst_then_refill((limiter, _): LimiterPair) {
    let user = UserId::generate();
    assert_eq!(allowed(&limiter, user, QUOTA.burst + 3).await, QUOTA.burst);
    tokio::time::sleep(Duration::from_millis(750)).await;
    let refilled = allowed(&limiter, user, 3).await;
    assert!(
        (1..=2).contains(&refilled),
        "{refilled} sends allowed after 1.5 refill intervals"
    );
}

/// One user's empty bucket does not hold back another user.
pub async fn users_are_independent((limiter, _): LimiterPair) {
    let (ann, bob) = (UserId::generate(), UserId::generate());
    assert_eq!(allowed(&limiter, ann, QUOTA.burst + 1).await, QUOTA.burst);
    assert_eq!(allowed(&limiter, bob, QUOTA.burst).await, QUOTA.burst);
    assert!(!limiter.allow(ann).await.unwrap());
}

/// Sends through either node draw from one bucket: the burst holds across nodes.
pub async fn buckets_are_shared_across_instances((one, two): LimiterPair) {
    let user = UserId::generate();
    let first = QUOTA.burst / 2;
    assert_eq!(allowed(&one, user, first).await, first);
    assert_eq!(
        allowed(&two, user, QUOTA.burst - first).await,
        QUOTA.burst - first
    );
    assert!(!one.allow(user).await.unwrap());
    assert!(!two.allow(user).await.unwrap());
}

/// Racing sends from both nodes get exactly `burst` tokens between them.
pub async fn concurrent_sends_never_exceed_the_burst((one, two): LimiterPair) {
    let user = UserId::generate();
    let attempts = (0..4 * QUOTA.burst).map(|i| {
        let limiter = if i % 2 == 0 { one.clone() } else { two.clone() };
        tokio::spawn(async move { limiter.allow(user).await.unwrap() })
    });
    let mut allowed = 0;
    for attempt in attempts.collect::<Vec<_>>() {
        if attempt.await.unwrap() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, QUOTA.burst);
}

/// The attempt quota the attempt checks use: one attempt per second, three at once.
const ATTEMPTS: AttemptQuota = AttemptQuota {
    per_minute: 60,
    burst: 3,
};

/// A key no other test (or earlier run against a shared Redis) has used.
fn fresh_key(what: &str) -> String {
    format!("{what}:{}", UserId::generate())
}

/// An attempt bucket allows its burst, then refuses with a wait of about one interval;
/// other keys are independent, and an off quota never refuses.
pub async fn attempts_allow_the_burst_then_tell_the_wait((limiter, _): LimiterPair) {
    let key = fresh_key("login");
    for _ in 0..ATTEMPTS.burst {
        assert_eq!(limiter.attempt(&key, ATTEMPTS).await.unwrap(), None);
    }
    let wait = limiter
        .attempt(&key, ATTEMPTS)
        .await
        .unwrap()
        .expect("refused after the burst");
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(1),
        "wait {wait:?}"
    );
    assert_eq!(
        limiter
            .attempt(&fresh_key("login"), ATTEMPTS)
            .await
            .unwrap(),
        None
    );
    for _ in 0..10 {
        assert_eq!(
            limiter.attempt(&key, AttemptQuota::OFF).await.unwrap(),
            None
        );
    }
}

/// Attempts through either node draw from one bucket.
pub async fn attempt_buckets_are_shared_across_instances((one, two): LimiterPair) {
    let key = fresh_key("register");
    assert_eq!(one.attempt(&key, ATTEMPTS).await.unwrap(), None);
    assert_eq!(two.attempt(&key, ATTEMPTS).await.unwrap(), None);
    assert_eq!(one.attempt(&key, ATTEMPTS).await.unwrap(), None);
    assert!(two.attempt(&key, ATTEMPTS).await.unwrap().is_some());
    assert!(one.attempt(&key, ATTEMPTS).await.unwrap().is_some());
}

//! Limits on logins and registrations per client address and per account, and on uploads per
//! user, through the
//! engine's rate limiter (shared across nodes when it is), falling back to this node's own
//! buckets when the shared limiter does not answer.

use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::id::UserId;
use crate::limits::AttemptQuota;
use crate::metrics;

use super::Engine;

/// What an attempt is counted against. Without the `accounts` feature only uploads are
/// counted; the login and registration kinds stay so the limits keep one shape.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "accounts"), allow(dead_code))]
pub(super) enum Attempt<'a> {
    /// A login from this address.
    LoginFrom(IpAddr),
    /// A login naming this (normalized) email.
    LoginAs(&'a str),
    /// A registration from this address.
    RegisterFrom(IpAddr),
    /// A file upload by this user.
    Upload(UserId),
}

impl Attempt<'_> {
    fn key_and_quota(&self, engine: &Engine) -> (String, AttemptQuota) {
        let limits = &engine.inner.config.attempts;
        match self {
            Attempt::LoginFrom(address) => (
                format!("login-ip:{}", network(*address)),
                limits.login_per_address,
            ),
            Attempt::LoginAs(email) => (format!("login-email:{email}"), limits.login_per_account),
            Attempt::RegisterFrom(address) => (
                format!("register-ip:{}", network(*address)),
                limits.register_per_address,
            ),
            Attempt::Upload(user) => (format!("upload:{user}"), limits.upload_per_user),
        }
    }

    fn limit(&self) -> metrics::Limit {
        match self {
            Attempt::LoginFrom(_) => metrics::Limit::LoginAddress,
            Attempt::LoginAs(_) => metrics::Limit::LoginAccount,
            Attempt::RegisterFrom(_) => metrics::Limit::RegisterAddress,
            Attempt::Upload(_) => metrics::Limit::Upload,
        }
    }

    fn refusal(&self) -> &'static str {
        match self {
            Attempt::LoginFrom(_) => "too many logins from this address; try again later",
            Attempt::LoginAs(_) => "too many logins to this account; try again later",
            Attempt::RegisterFrom(_) => "too many registrations from this address; try again later",
            Attempt::Upload(_) => "uploading too fast; try again later",
        }
    }
}

/// The unit an address is limited as: IPv4 addresses one by one, IPv6 by /64 (what one
/// subscriber usually gets), with IPv4-mapped IPv6 read as IPv4.
fn network(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

impl Engine {
    /// Counts one attempt; `Error::Throttled` when its bucket is empty.
    pub(super) async fn count_attempt(&self, attempt: Attempt<'_>) -> Result<()> {
        let (key, quota) = attempt.key_and_quota(self);
        if quota.is_off() {
            return Ok(());
        }
        let shared = self.inner.limiter.attempt(&key, quota);
        let wait = match self.sidecar("rate limiter", shared).await {
            Ok(wait) => wait,
            Err(err) => {
                tracing::debug!(error = %err, "shared limiter unavailable; limiting locally");
                self.inner.fallback_limiter.attempt_now(&key, quota)
            }
        };
        match wait {
            None => Ok(()),
            Some(retry_after) => {
                metrics::rate_limited(attempt.limit());
                Err(Error::Throttled {
                    detail: attempt.refusal().into(),
                    retry_after,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_limited_per_64_and_mapped_ipv4_as_ipv4() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network(a), network(b));
        assert_ne!(network(a), network(c));
        let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap();
        assert_eq!(network(mapped), "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}

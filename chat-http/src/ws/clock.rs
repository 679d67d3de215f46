//! The socket loop's one timer: set for the soonest of what the loop waits for in time (the
//! next ping, the outbox's write deadline while a write is in progress or the end of its held
//! refusals' hold, the authentication's expiry), so that each socket keeps one timer instead
//! of three, and each wake of its loop polls one.

use std::time::Duration;

use tokio::time::Instant;

/// When the socket next pings, and when its authentication expires.
#[derive(Debug)]
pub struct Clock {
    next_ping: Instant,
    ping_interval: Duration,
    expires: Option<Instant>,
}

/// What came due when the timer fired.
#[derive(Debug, PartialEq, Eq)]
pub enum Due {
    /// The authenticator's identity no longer holds.
    Expired,
    /// Time to ping, and to check that the client was heard from lately.
    Ping,
    /// Neither: the timer was set for the outbox's write deadline or held refusals.
    Neither,
}

impl Clock {
    /// A clock whose first ping comes one `ping_interval` after `now`.
    pub fn new(now: Instant, ping_interval: Duration, expires: Option<Instant>) -> Self {
        Clock {
            next_ping: now + ping_interval,
            ping_interval,
            expires,
        }
    }

    /// When the timer must fire next, given when the outbox is next due, if ever.
    pub fn next(&self, write_deadline: Option<Instant>) -> Instant {
        [self.expires, write_deadline]
            .into_iter()
            .flatten()
            .fold(self.next_ping, Instant::min)
    }

    /// What is due at `now`; a ping that is due is taken as sent, and the next one set.
    pub fn due(&mut self, now: Instant) -> Due {
        if self.expires.is_some_and(|expires| now >= expires) {
            return Due::Expired;
        }
        if now >= self.next_ping {
            self.next_ping = now + self.ping_interval;
            return Due::Ping;
        }
        Due::Neither
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn the_timer_is_set_for_the_soonest_deadline() {
        let start = Instant::now();
        let clock = Clock::new(start, 10 * SECOND, Some(start + 20 * SECOND));
        assert_eq!(clock.next(None), start + 10 * SECOND);
        assert_eq!(clock.next(Some(start + SECOND)), start + SECOND);
        let expiring = Clock::new(start, 10 * SECOND, Some(start + SECOND));
        assert_eq!(expiring.next(Some(start + 2 * SECOND)), start + SECOND);
    }

    #[test]
    fn a_due_ping_sets_the_next_one_and_expiry_comes_first() {
        let start = Instant::now();
        let mut clock = Clock::new(start, SECOND, Some(start + 10 * SECOND));
        assert_eq!(clock.due(start), Due::Neither);
        assert_eq!(clock.due(start + 2 * SECOND), Due::Ping);
        assert_eq!(clock.next(None), start + 3 * SECOND);
        assert_eq!(clock.due(start + 2 * SECOND), Due::Neither);
        assert_eq!(clock.due(start + 10 * SECOND), Due::Expired);
    }
}

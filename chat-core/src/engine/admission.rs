//! Admission on the send path: a bound on the sends between admission and their store's
//! answer, so that past the store's capacity a send is refused at once (`Error::Overloaded`,
//! which costs nothing) instead of queuing behind seconds of others. What is admitted is
//! carried through; the bound keeps its queueing delay at about `limit / throughput`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::error::{Error, Result};

/// The retry hint of a refused send: long enough for a queue of one bound to clear.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// Sends in flight to the store, up to a limit.
#[derive(Debug)]
pub(super) struct SendAdmission {
    in_flight: AtomicUsize,
    limit: usize,
}

/// One admitted send; dropping it frees its place.
#[derive(Debug)]
pub(super) struct Admitted<'a>(&'a AtomicUsize);

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl SendAdmission {
    /// Admits up to `limit` sends at once (at least one).
    pub(super) fn new(limit: usize) -> Self {
        SendAdmission {
            in_flight: AtomicUsize::new(0),
            limit: limit.max(1),
        }
    }

    /// A place for one send, or `Error::Overloaded` when all are taken.
    pub(super) fn admit(&self) -> Result<Admitted<'_>> {
        let taken = self.in_flight.fetch_add(1, Ordering::AcqRel);
        let admitted = Admitted(&self.in_flight);
        if taken >= self.limit {
            return Err(Error::Overloaded {
                what: "the message store".into(),
                retry_after: RETRY_AFTER,
            });
        }
        Ok(admitted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_and_frees_places_on_drop() {
        let admission = SendAdmission::new(2);
        let first = admission.admit().unwrap();
        let _second = admission.admit().unwrap();
        let refused = admission.admit().unwrap_err();
        assert_eq!(refused.code(), "overloaded");
        assert_eq!(refused.retry_after(), Some(RETRY_AFTER));
        drop(first);
        assert!(admission.admit().is_ok());
    }
}

//! The runtime's global queue counted in sends, for send admission.
//!
//! A send wakes every socket its message is delivered to: two in a direct room (the
//! recipient's, and the sender's own for the echo), a thousand in a room of 1,000, each with a
//! frame to write. A count of ready tasks alone says little about the work waiting: 128 tasks
//! are 64 senders' messages in direct rooms and an eighth of one message's fanout in a room of
//! 1,000, which drains in a millisecond. Divided by the deliveries each send made during the
//! last tick, the queue is counted in sends; the limit keeps its meaning from direct rooms by
//! counting two tasks per send.
//!
//! The queue's wait is weighed too, past [`WALK_DELIVERIES`] deliveries a send: one message to
//! a room of 10,000 keeps the queue busy for its walk (~100 ms on the test machine) whatever
//! admission does, so there the wait is counted per thousand deliveries.

use std::time::Duration;

/// Deliveries a direct room's send makes; the unit the ready-queue limit is counted in.
const DIRECT_DELIVERIES: f64 = 2.0;

/// Deliveries a send may make before its walk alone would pass the wait's bound.
const WALK_DELIVERIES: f64 = 1_000.0;

/// The weight of the latest tick in the running averages: about the last 16 ticks count, so
/// that a send admitted at the end of one tick and delivered in the next moves the ratio little.
const SMOOTHING: f64 = 1.0 / 16.0;

/// The deliveries per send the node has been making lately.
#[derive(Debug, Default)]
pub(super) struct DeliveriesPerSend {
    /// The node's running totals at the last tick.
    sends: u64,
    deliveries: u64,
    /// Running averages of sends and deliveries per tick.
    sends_per_tick: f64,
    deliveries_per_tick: f64,
}

impl DeliveriesPerSend {
    /// `ready_tasks` counted two per send, given the node's running totals of sends admitted
    /// and deliveries queued.
    pub(super) fn weigh(&mut self, ready_tasks: usize, sends: u64, deliveries: u64) -> u64 {
        let new_sends = sends.saturating_sub(self.sends) as f64;
        let new_deliveries = deliveries.saturating_sub(self.deliveries) as f64;
        self.sends = sends;
        self.deliveries = deliveries;
        self.sends_per_tick += (new_sends - self.sends_per_tick) * SMOOTHING;
        self.deliveries_per_tick += (new_deliveries - self.deliveries_per_tick) * SMOOTHING;
        (ready_tasks as f64 * DIRECT_DELIVERIES / self.per_send()).round() as u64
    }

    /// `waited` counted per thousand deliveries, for nodes whose sends make more; given after
    /// [`DeliveriesPerSend::weigh`] at the same tick.
    pub(super) fn weigh_wait(&self, waited: Duration) -> Duration {
        waited.div_f64((self.per_send() / WALK_DELIVERIES).max(1.0))
    }

    /// Deliveries per send lately, never fewer than a direct room's.
    fn per_send(&self) -> f64 {
        if self.sends_per_tick > 0.0 {
            (self.deliveries_per_tick / self.sends_per_tick).max(DIRECT_DELIVERIES)
        } else {
            DIRECT_DELIVERIES
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_count_as_sends_by_the_deliveries_sends_make() {
        let mut weight = DeliveriesPerSend::default();
        assert_eq!(
            weight.weigh(300, 0, 0),
            300,
            "no send yet: as in direct rooms"
        );
        let (mut sends, mut deliveries) = (0, 0);
        for _ in 0..100 {
            (sends, deliveries) = (sends + 10, deliveries + 20);
            weight.weigh(0, sends, deliveries);
        }
        assert_eq!(
            weight.weigh(300, sends, deliveries),
            300,
            "two deliveries a send"
        );

        for _ in 0..100 {
            (sends, deliveries) = (sends + 1, deliveries + 1_000);
            weight.weigh(0, sends, deliveries);
        }
        let weighed = weight.weigh(3_000, sends, deliveries);
        assert!(
            (6..=8).contains(&weighed),
            "a thousand deliveries a send: 3,000 ready tasks are about three sends ({weighed})"
        );

        sends += 1;
        let admitted_not_yet_delivered = weight.weigh(3_000, sends, deliveries);
        assert!(
            admitted_not_yet_delivered < 10,
            "a send whose fanout comes next tick barely moves the measure ({admitted_not_yet_delivered})"
        );
        for _ in 0..10 {
            weight.weigh(0, sends, deliveries);
        }
        assert!(
            weight.weigh(3_000, sends, deliveries) < 10,
            "ticks without sends keep the ratio"
        );
    }

    #[test]
    fn the_wait_counts_per_thousand_deliveries_past_a_thousand_a_send() {
        let mut weight = DeliveriesPerSend::default();
        let wait = Duration::from_millis(100);
        assert_eq!(weight.weigh_wait(wait), wait, "no send yet");
        let (mut sends, mut deliveries) = (0, 0);
        for _ in 0..200 {
            (sends, deliveries) = (sends + 1, deliveries + 500);
            weight.weigh(0, sends, deliveries);
        }
        assert_eq!(weight.weigh_wait(wait), wait, "500 deliveries a send");
        for _ in 0..200 {
            (sends, deliveries) = (sends + 1, deliveries + 10_000);
            weight.weigh(0, sends, deliveries);
        }
        let weighed = weight.weigh_wait(wait);
        assert!(
            weighed > Duration::from_millis(9) && weighed < Duration::from_millis(12),
            "10,000 deliveries a send: a tenth ({weighed:?})"
        );
    }
}

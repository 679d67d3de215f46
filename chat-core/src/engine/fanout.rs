//! Delivery of stored events: to local sockets through the hub, to other nodes through the
//! bus, and recovery of gaps from the store.

use crate::event::{Delivery, Outbound, ServerEvent};
use crate::hub::{FanoutReport, Gap};
use crate::id::UserId;

use super::Engine;

/// How many times a gap is looked up in the store before the line gives up on it. Waiting
/// more than once covers an append on another node that is assigned but not yet visible.
const GAP_ATTEMPTS: u32 = 3;

impl Engine {
    /// Delivers `event` to local sockets of `recipients` now and queues its relay to other
    /// nodes. Never waits: neither on sockets nor on the bus.
    pub(crate) fn fanout(&self, recipients: &[UserId], event: ServerEvent) {
        let delivery = Outbound::new(event);
        let report = self.inner.hub.deliver(recipients, &delivery);
        self.handle_report(report);
        self.inner.relay.publish(recipients, delivery.event());
    }

    /// Delivers an event that came from another node to the local sockets of `user`.
    pub(crate) fn deliver_relayed(&self, user: UserId, delivery: &Delivery) {
        let report = self.inner.hub.deliver(&[user], delivery);
        self.handle_report(report);
    }

    pub(crate) fn handle_report(&self, report: FanoutReport) {
        crate::metrics::fanout(&report);
        if report.overflowed > 0 {
            tracing::info!(
                sockets = report.overflowed,
                "cut off sockets with full queues"
            );
        }
        for gap in report.gaps {
            let engine = self.clone();
            self.inner
                .relay
                .spawn_cancellable(async move { engine.fill_gap(gap).await });
        }
    }

    /// Waits for a gap to close by itself, then reads what is missing from the store.
    async fn fill_gap(&self, gap: Gap) {
        for attempt in 1..=GAP_ATTEMPTS {
            tokio::time::sleep(self.inner.config.gap_wait * attempt).await;
            let Some(missing) = self.inner.hub.still_missing(&gap) else {
                return;
            };
            let count = (missing.end - missing.start) as usize;
            match self
                .inner
                .store
                .page(gap.room, Some(missing.end), count)
                .await
            {
                Ok(mut found) => {
                    found.reverse();
                    for message in found.into_iter().filter(|m| m.seq >= missing.start) {
                        let delivery = Outbound::new(ServerEvent::Message(message));
                        self.deliver_relayed(gap.user, &delivery);
                    }
                }
                Err(err) => tracing::warn!(error = %err, "cannot read a gap from the store"),
            }
        }
        if let Some(missing) = self.inner.hub.still_missing(&gap) {
            tracing::warn!(room = %gap.room, ?missing, "giving up on messages never stored");
            let report = self.inner.hub.skip_gap(gap.user, gap.room, missing.end);
            self.handle_report(report);
        }
    }
}

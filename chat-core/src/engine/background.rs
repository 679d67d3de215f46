//! The engine's long-lived background work: receiving from the bus, keeping presence fresh,
//! rechecking sockets' sessions, the resync after a bus reconnect, collecting files never
//! attached, and measuring how late the runtime runs its tasks (for send admission). Every
//! task runs under the engine's [`super::relay`].

use std::sync::Weak;

use tokio::sync::mpsc;

use crate::bus::{Inbound, NODE_NOTICES};
use crate::event::{Outbound, ServerEvent};

use super::{Engine, Inner};

/// Starts the bus and heartbeat loops; they hold the engine weakly and end with it.
pub(super) fn start(engine: &Engine) {
    let weak = std::sync::Arc::downgrade(&engine.inner);
    if let Some(inbound) = engine.inner.bus.take_inbound() {
        engine
            .inner
            .relay
            .spawn_cancellable(inbound_loop(weak.clone(), inbound));
    }
    engine
        .inner
        .relay
        .spawn_cancellable(super::sessions::recheck_loop(weak.clone()));
    engine
        .inner
        .relay
        .spawn_cancellable(heartbeat_loop(weak.clone()));
    engine
        .inner
        .relay
        .spawn_cancellable(file_sweep_loop(weak.clone()));
    engine
        .inner
        .relay
        .spawn_cancellable(scheduling_monitor_loop(weak));
}

/// How often the scheduling monitor measures the runtime's delay.
const SCHEDULING_TICK: std::time::Duration = std::time::Duration::from_millis(10);

/// Sleeps a tick at a time and reports how much later than asked it woke, how many ready
/// tasks wait in the runtime's global queue (counted in sends) and how long a probe waits
/// there: all grow when the CPU is saturated. The tick's lateness alone misses most of that
/// queue, since the runtime runs a task its timer woke ahead of it.
async fn scheduling_monitor_loop(inner: Weak<Inner>) {
    let runtime = tokio::runtime::Handle::current();
    let probe = super::queue_probe::ReadyQueueProbe::new();
    let mut per_send = super::sends_queued::DeliveriesPerSend::default();
    loop {
        let asked = tokio::time::Instant::now() + SCHEDULING_TICK;
        tokio::time::sleep_until(asked).await;
        let late = tokio::time::Instant::now().saturating_duration_since(asked);
        let Some(inner) = inner.upgrade() else { return };
        let ready_queue = runtime.metrics().global_queue_depth();
        crate::metrics::scheduling_delay(late, ready_queue);
        let admission = &inner.admission;
        let (sends, deliveries) = admission.totals();
        admission.observe_scheduling_delay(late);
        admission.observe_ready_queue(per_send.weigh(ready_queue, sends, deliveries));
        admission.observe_ready_queue_wait(per_send.weigh_wait(probe.measure(&runtime)));
    }
}

async fn inbound_loop(inner: Weak<Inner>, mut inbound: mpsc::Receiver<Inbound>) {
    while let Some(item) = inbound.recv().await {
        let Some(inner) = inner.upgrade() else { return };
        let engine = Engine { inner };
        match item {
            Inbound::Event {
                topic: NODE_NOTICES,
                event,
            } => engine.notice_heard(event),
            Inbound::Event { topic, event } => {
                engine.deliver_relayed(topic, &Outbound::new(event));
            }
            Inbound::Reconnected => {
                let resyncing = engine.clone();
                engine.inner.relay.spawn_cancellable(async move {
                    resyncing.revocation_heard(None).await;
                    resyncing.forget_all_members();
                    resyncing.heartbeat().await;
                    resyncing.resync().await;
                });
            }
        }
    }
}

async fn heartbeat_loop(inner: Weak<Inner>) {
    let period = match inner.upgrade() {
        Some(inner) => inner.config.presence_heartbeat,
        None => return,
    };
    let mut ticker = tokio::time::interval(period);
    loop {
        ticker.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let engine = Engine { inner };
        engine.heartbeat().await;
    }
}

/// Collects unattached files past their time, every `file_sweep_interval`.
async fn file_sweep_loop(inner: Weak<Inner>) {
    let period = match inner.upgrade() {
        Some(inner) => inner.config.file_sweep_interval,
        None => return,
    };
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    loop {
        ticker.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        let engine = Engine { inner };
        match engine.collect_unattached_files().await {
            Ok(0) => {}
            Ok(collected) => tracing::info!(collected, "collected unattached files"),
            Err(err) => tracing::warn!(error = %err, "cannot collect unattached files"),
        }
    }
}

impl Engine {
    async fn heartbeat(&self) {
        let sockets = self.inner.hub.sockets();
        if let Err(err) = self.inner.presence.heartbeat(&sockets).await {
            tracing::warn!(error = %err, "presence heartbeat failed");
        }
        match self.inner.presence.expired().await {
            Ok(users) => {
                for user in users {
                    self.presence_changed(user, false, None).await;
                }
            }
            Err(err) => tracing::debug!(error = %err, "cannot read expired presence"),
        }
    }

    /// Takes this node's sockets out of presence and tells their contacts, so a graceful
    /// stop is not mistaken for a crash that only the presence TTL would reveal.
    pub(super) async fn leave_presence(&self) {
        for (user, conn) in self.inner.hub.sockets() {
            let left = self.inner.presence.disconnect(user, conn);
            if let Ok(0) = self.sidecar("presence", left).await {
                self.presence_changed(user, false, None).await;
            }
        }
    }

    /// Acts on a notice another node sent to all nodes.
    fn notice_heard(&self, notice: ServerEvent) {
        match notice {
            ServerEvent::SessionsRevoked { user_id } => {
                let hearing = self.clone();
                self.inner.relay.spawn_cancellable(async move {
                    hearing.revocation_heard(Some(user_id)).await;
                });
            }
            ServerEvent::MembersChanged {
                room_id,
                joined,
                from_seq,
            } => self.members_changed_elsewhere(room_id, &joined, from_seq),
            other => tracing::debug!(?other, "unexpected event on the notices topic"),
        }
    }

    /// After the bus was away (or dropped events): offer each followed room's newest message
    /// again; lines that missed messages see a gap and read them back from the store.
    async fn resync(&self) {
        for room in self.inner.hub.rooms() {
            self.offer_newest(room).await;
        }
    }
}

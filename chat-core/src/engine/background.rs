//! The engine's background tasks: relaying to the bus in order, receiving from it, and
//! keeping presence fresh.

use std::collections::HashSet;
use std::sync::{Arc, Weak};

use tokio::sync::mpsc;

use crate::bus::{ACCOUNT_NOTICES, Inbound};
use crate::event::{Outbound, ServerEvent};
use crate::id::UserId;

use super::{Engine, Inner};

/// Rooms per local user re-read after a bus reconnect to find what was missed.
const RESYNC_ROOMS: usize = 50;

pub(super) fn start(engine: &Engine, publish_rx: mpsc::Receiver<(Vec<UserId>, ServerEvent)>) {
    let weak = Arc::downgrade(&engine.inner);
    let mut tasks = vec![tokio::spawn(publish_loop(
        engine.inner.bus.clone(),
        publish_rx,
    ))];
    if let Some(inbound) = engine.inner.bus.take_inbound() {
        tasks.push(tokio::spawn(inbound_loop(weak.clone(), inbound)));
    }
    tasks.push(tokio::spawn(heartbeat_loop(weak)));
    engine
        .inner
        .tasks
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .extend(tasks);
}

/// Publishes one event at a time so the bus sees them in the order they were stored here.
async fn publish_loop(
    bus: Arc<dyn crate::bus::Bus>,
    mut queue: mpsc::Receiver<(Vec<UserId>, ServerEvent)>,
) {
    while let Some((recipients, event)) = queue.recv().await {
        if let Err(err) = bus.publish(&recipients, &event).await {
            tracing::debug!(error = %err, "bus publish failed; receivers will fill the gap");
        }
    }
}

async fn inbound_loop(inner: Weak<Inner>, mut inbound: mpsc::Receiver<Inbound>) {
    while let Some(item) = inbound.recv().await {
        let Some(inner) = inner.upgrade() else { return };
        let engine = Engine { inner };
        match item {
            Inbound::Event {
                user: ACCOUNT_NOTICES,
                event: ServerEvent::SessionsRevoked { user_id },
            } => {
                tokio::spawn(async move { engine.revocation_heard(Some(user_id)).await });
            }
            Inbound::Event { user, event } => {
                engine.deliver_relayed(user, &Outbound::new(event));
            }
            Inbound::Reconnected => {
                tokio::spawn(async move {
                    engine.revocation_heard(None).await;
                    engine.heartbeat().await;
                    engine.resync().await;
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

impl Engine {
    async fn heartbeat(&self) {
        let sockets = self.inner.hub.sockets();
        if let Err(err) = self.inner.presence.heartbeat(&sockets).await {
            tracing::warn!(error = %err, "presence heartbeat failed");
        }
        match self.inner.presence.expired().await {
            Ok(users) => {
                for user in users {
                    self.announce_presence(user, false).await;
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
                self.announce_presence(user, false).await;
            }
        }
    }

    /// After the bus was away (or dropped events): offer each local user's rooms' newest message again; lines that
    /// missed messages see a gap and read them back from the store.
    async fn resync(&self) {
        let users = self.inner.hub.local_users();
        let mut seen = HashSet::new();
        for user in users {
            let Ok(rooms) = self.inner.store.rooms_of(user, RESYNC_ROOMS).await else {
                continue;
            };
            for room in rooms {
                if !seen.insert((user, room.id)) {
                    continue;
                }
                if let Some(last) = room.last_message {
                    self.deliver_relayed(user, &Outbound::new(ServerEvent::Message(last)));
                }
            }
        }
    }
}

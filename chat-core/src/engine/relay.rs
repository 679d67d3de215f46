//! The relay side of the engine: the queue that feeds the bus, and the owner of every task
//! the engine starts (bus loops, heartbeats, gap filling, resync, presence windows, socket
//! cleanup).
//!
//! Nothing the engine spawns is detached: each task is tracked here, the long-lived ones stop
//! when shutdown cancels them, and shutdown waits for all of them (within its deadline) after
//! the publish queue has been drained to the bus.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::bus::{Bus, Topic};
use crate::event::ServerEvent;

/// Events waiting to be relayed to other nodes before new ones are dropped (and later
/// recovered from the store by the receiving nodes' gap filling).
const PUBLISH_QUEUE: usize = 16 * 1024;

/// One event for the bus and the topics it goes out on.
type Publication = (Vec<Topic>, ServerEvent);

/// Owns the engine's tasks and its publish queue.
pub(super) struct Relay {
    tracker: TaskTracker,
    cancel: CancellationToken,
    publish: mpsc::Sender<Publication>,
}

impl Relay {
    /// A relay whose publish queue feeds `bus`, one event at a time, in queue order.
    pub(super) fn start(bus: Arc<dyn Bus>) -> Relay {
        let (publish, queue) = mpsc::channel(PUBLISH_QUEUE);
        let relay = Relay {
            tracker: TaskTracker::new(),
            cancel: CancellationToken::new(),
            publish,
        };
        relay
            .tracker
            .spawn(publish_loop(bus, queue, relay.cancel.clone()));
        relay
    }

    /// Queues `event` for the other nodes; never waits. A full queue drops it: the receiving
    /// nodes see a gap and read the message from the store.
    pub(super) fn publish(&self, topics: Vec<Topic>, event: &ServerEvent) {
        if topics.is_empty() {
            return;
        }
        let publication = (topics, event.clone());
        if let Err(mpsc::error::TrySendError::Full(_)) = self.publish.try_send(publication) {
            tracing::warn!("bus relay queue full; other nodes will recover from the store");
        }
    }

    /// Runs `task` to its end, even during shutdown, which waits for it; for short work
    /// bounded by its own timeouts, such as taking a closed socket out of presence.
    pub(super) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.tracker.spawn(task);
    }

    /// Runs `task` to its end whatever its caller does, tracked like the others (shutdown
    /// waits for it), and hands its output to whoever still awaits the handle.
    pub(super) fn carry<T: Send + 'static>(
        &self,
        task: impl Future<Output = T> + Send + 'static,
    ) -> tokio::task::JoinHandle<T> {
        self.tracker.spawn(task)
    }

    /// Runs `task` until it ends or shutdown begins, whichever comes first.
    pub(super) fn spawn_cancellable(&self, task: impl Future<Output = ()> + Send + 'static) {
        let cancel = self.cancel.clone();
        self.tracker.spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                () = task => {}
            }
        });
    }

    /// Cancels the long-lived tasks, lets the publish queue drain to the bus, and waits for
    /// every task until `deadline`. False when some were still running then.
    pub(super) async fn stop(&self, deadline: Instant) -> bool {
        self.cancel.cancel();
        self.tracker.close();
        tokio::time::timeout_at(deadline, self.tracker.wait())
            .await
            .is_ok()
    }
}

impl Drop for Relay {
    /// An engine dropped without a shutdown still stops its loops.
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Publishes one event at a time so the bus sees them in the order they were stored here;
/// once cancelled, publishes what is already queued, then ends.
async fn publish_loop(
    bus: Arc<dyn Bus>,
    mut queue: mpsc::Receiver<Publication>,
    cancel: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            biased;
            next = queue.recv() => next,
            () = cancel.cancelled() => break,
        };
        let Some((topics, event)) = next else {
            return;
        };
        publish(bus.as_ref(), &topics, &event).await;
    }
    queue.close();
    while let Some((topics, event)) = queue.recv().await {
        publish(bus.as_ref(), &topics, &event).await;
    }
}

async fn publish(bus: &dyn Bus, topics: &[Topic], event: &ServerEvent) {
    if let Err(err) = bus.publish(topics, event).await {
        tracing::debug!(error = %err, "bus publish failed; receivers will fill the gap");
    }
}

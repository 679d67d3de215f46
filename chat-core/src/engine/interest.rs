//! Keeps the bus watching what the hub needs: the topics of the rooms local sockets follow
//! and of the users with sockets here, applied in the order the hub asked for them.
//!
//! Changes that queue up while the bus is busy are applied together (the Redis bus turns
//! them into one `SUBSCRIBE`); only each topic's last wish counts, so a room left and
//! followed again in one batch stays watched.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::future::join_all;
use tokio::sync::{mpsc, oneshot};

use crate::bus::{Bus, Topic};
use crate::hub::Interest;

use super::Engine;

/// Changes applied in one batch at most, so a connect storm still answers barriers.
const MAX_BATCH: usize = 4096;

/// Applies the hub's interest to `bus` until the hub and engine are gone.
pub(super) async fn apply(bus: Arc<dyn Bus>, mut queue: mpsc::UnboundedReceiver<Interest>) {
    while let Some(first) = queue.recv().await {
        let mut wanted: HashMap<Topic, bool> = HashMap::new();
        let mut barriers = Vec::new();
        let mut next = Some(first);
        while let Some(interest) = next {
            match interest {
                Interest::Watch(topic) => {
                    wanted.insert(topic, true);
                }
                Interest::Unwatch(topic) => {
                    wanted.insert(topic, false);
                }
                Interest::Barrier(reply) => barriers.push(reply),
            }
            next = if wanted.len() < MAX_BATCH {
                queue.try_recv().ok()
            } else {
                None
            };
        }
        let bus = bus.as_ref();
        join_all(wanted.into_iter().map(|(topic, watch)| async move {
            let applied = if watch {
                bus.watch(topic).await
            } else {
                bus.unwatch(topic).await
            };
            if let Err(err) = applied {
                tracing::debug!(error = %err, %topic, "bus watch change failed; the bus retries");
            }
        }))
        .await;
        for barrier in barriers {
            let _waiter_gone = barrier.send(());
        }
    }
}

impl Engine {
    /// Waits until the bus applied every watch the hub asked for before this call, within
    /// the sidecar timeout: after it, other nodes' events for this node's rooms arrive here.
    pub(super) async fn interest_applied(&self) -> bool {
        let (reply, applied) = oneshot::channel();
        if self.inner.interest.send(Interest::Barrier(reply)).is_err() {
            return false;
        }
        matches!(
            tokio::time::timeout(self.inner.config.sidecar_timeout, applied).await,
            Ok(Ok(()))
        )
    }
}

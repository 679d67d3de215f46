//! The task that writes publications to Redis in order, as many per round trip as are
//! waiting: a node relaying faster than one event per round trip is not held to that pace.
//!
//! A batch that fails is retried, in order, until it is [`GIVE_UP_AFTER`] old: a short
//! outage delays cross-node delivery instead of losing it (duplicates that a half-failed
//! batch may cause are dropped by the receiving hub). Older events are dropped; receivers
//! fill such gaps from the store.

use std::time::{Duration, Instant};

use chat_core::bus::Topic;
use tokio::sync::mpsc;

use crate::keys::Keys;
use crate::requests::Requests;

/// The `bus` label of this crate's metrics.
pub(crate) const BUS: &str = "redis";

/// Publications waiting for Redis before `publish` refuses more.
pub(crate) const OUTBOX_CAPACITY: usize = 16 * 1024;

/// `PUBLISH` commands per pipeline, so one round trip stays well inside the command timeout.
const MAX_BATCH: usize = 2048;

/// How long a publication is retried; after that, receivers have long since reconnected and
/// re-read history, so it is news to nobody.
const GIVE_UP_AFTER: Duration = Duration::from_secs(10);

/// First pause before retrying a failed batch; doubled up to [`MAX_RETRY_PAUSE`].
const MIN_RETRY_PAUSE: Duration = Duration::from_millis(50);
const MAX_RETRY_PAUSE: Duration = Duration::from_secs(1);

/// One event, encoded once, for its topics.
pub(crate) struct Publication {
    pub(crate) topics: Vec<Topic>,
    pub(crate) payload: Vec<u8>,
    pub(crate) queued: Instant,
}

/// Drains the outbox until the bus is dropped, one pipeline per round trip.
pub(crate) async fn run(requests: Requests, keys: Keys, mut outbox: mpsc::Receiver<Publication>) {
    let mut failing = false;
    while let Some(first) = outbox.recv().await {
        let oldest = first.queued;
        let mut pipe = redis::pipe();
        let mut commands = 0;
        let mut next = Some(first);
        while let Some(publication) = next {
            for &topic in &publication.topics {
                pipe.cmd("PUBLISH")
                    .arg(keys.channel(topic))
                    .arg(publication.payload.as_slice())
                    .ignore();
            }
            commands += publication.topics.len();
            next = if commands < MAX_BATCH {
                outbox.try_recv().ok()
            } else {
                None
            };
        }
        let mut pause = MIN_RETRY_PAUSE;
        loop {
            match requests.pipeline::<()>(&pipe).await {
                Ok(()) => {
                    chat_core::metrics::bus_published(BUS, commands);
                    if failing {
                        tracing::info!("redis publishing works again");
                        failing = false;
                    }
                    break;
                }
                Err(err) => {
                    if !failing {
                        tracing::warn!(error = %err, "redis publish failed; retrying");
                        failing = true;
                    }
                    if oldest.elapsed() > GIVE_UP_AFTER {
                        tracing::debug!("dropping publications Redis could not take in time");
                        chat_core::metrics::bus_publish_dropped(BUS, commands);
                        break;
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(MAX_RETRY_PAUSE);
                }
            }
        }
    }
}

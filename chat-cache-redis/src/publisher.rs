//! The task that writes publications to Redis in order, as many per round trip as are
//! waiting: a node relaying faster than one event per round trip is not held to that pace.

use chat_core::UserId;
use tokio::sync::mpsc;

use crate::keys::Keys;
use crate::requests::Requests;

/// Publications waiting for Redis before `publish` refuses more (receivers fill the gap).
pub(crate) const OUTBOX_CAPACITY: usize = 16 * 1024;

/// `PUBLISH` commands per pipeline, so one round trip stays well inside the command timeout.
const MAX_BATCH: usize = 2048;

/// One event, encoded once, for its recipients.
pub(crate) struct Publication {
    pub(crate) recipients: Vec<UserId>,
    pub(crate) payload: Vec<u8>,
}

/// Drains the outbox until the bus is dropped, one pipeline per round trip.
pub(crate) async fn run(requests: Requests, keys: Keys, mut outbox: mpsc::Receiver<Publication>) {
    let mut failing = false;
    while let Some(first) = outbox.recv().await {
        let mut pipe = redis::pipe();
        let mut commands = 0;
        let mut next = Some(first);
        while let Some(publication) = next {
            for &user in &publication.recipients {
                pipe.cmd("PUBLISH")
                    .arg(keys.user_channel(user))
                    .arg(publication.payload.as_slice())
                    .ignore();
            }
            commands += publication.recipients.len();
            next = if commands < MAX_BATCH {
                outbox.try_recv().ok()
            } else {
                None
            };
        }
        match requests.pipeline::<()>(&pipe).await {
            Ok(()) if failing => {
                tracing::info!("redis publishing works again");
                failing = false;
            }
            Ok(()) => {}
            Err(err) if !failing => {
                tracing::warn!(error = %err, "redis publish failed; receivers will fill the gap");
                failing = true;
            }
            Err(_) => {}
        }
    }
}

//! Server-side sends from a background task: a digest posted as the system user once per
//! period. The task ticks more often than that (it may also run on several servers at once);
//! the client id names the period, so every tick of one period stores one message.

use std::time::Duration;

use chat_core::model::Message;
use chat_core::{Engine, RoomId, ServerSender};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// How long one digest period is.
pub const PERIOD: Duration = Duration::from_secs(3600);

/// The digest of `period` in `room`; posting it again returns the message stored first.
pub async fn announce(engine: &Engine, room: RoomId, period: u64) -> chat_core::Result<Message> {
    let text = format!("Digest #{period}: welcome to the lobby");
    let client_id = format!("digest-{period}");
    engine
        .send_as(ServerSender::System, room, &text, Some(&client_id))
        .await
}

/// The period the current time falls in.
pub fn current_period() -> u64 {
    let now = chrono::Utc::now().timestamp().max(0) as u64;
    now / PERIOD.as_secs()
}

/// Posts the current digest every `every` until `stop` is cancelled.
pub fn spawn(
    engine: Engine,
    room: RoomId,
    every: Duration,
    stop: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    if let Err(error) = announce(&engine, room, current_period()).await {
                        tracing::warn!(%error, "digest not posted");
                    }
                }
                _ = stop.cancelled() => return,
            }
        }
    })
}

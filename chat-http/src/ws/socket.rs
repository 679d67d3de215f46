//! One socket's loop: frames in go to the engine, events out come from the hub's queue.
//!
//! Outgoing events are written in batches (everything already queued, then one flush), a
//! ping goes out every `ping_interval`, and a socket silent for `idle_timeout` is dropped.

use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use chat_core::Connection;
use chat_core::event::Delivery;
use chat_core::hub::Next;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};

use super::protocol::{ClientFrame, ErrorEvent, SendFrame, decode, parse_room};
use crate::state::AppState;
use crate::wire::encode_event;

/// Close codes (RFC 6455 §7.4.1).
mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const TOO_BIG: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
    pub const POLICY: u16 = 1008;
    pub const UNSUPPORTED: u16 = 1003;
}

/// How long a closing socket waits for the client's close frame.
const CLOSE_REPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Most events written before one flush.
const MAX_BATCH: usize = 64;

type Sink = SplitSink<WebSocket, Message>;

/// Why the loop ended, and with which close code, if any.
enum End {
    Close(u16, &'static str),
    Gone,
}

/// Runs the socket until either side ends it.
pub async fn run(socket: WebSocket, mut connection: Connection, state: AppState) {
    let (mut sink, mut stream) = socket.split();
    let config = state.config.clone();
    let mut ping = tokio::time::interval(config.ping_interval);
    ping.reset();
    let mut last_heard = Instant::now();
    let end = loop {
        tokio::select! {
            next = connection.next() => match next {
                Next::Event(delivery) => {
                    if write_batch(&mut sink, &mut connection, delivery).await.is_err() {
                        break End::Gone;
                    }
                }
                Next::Overflowed => break End::Close(close::TRY_AGAIN_LATER, "too slow"),
                Next::Closed => break End::Close(close::GOING_AWAY, "server shutting down"),
                Next::Revoked => break End::Close(close::POLICY, "session revoked"),
            },
            frame = stream.next() => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(Message::Text(text))) => {
                        if text.len() > config.max_frame_bytes {
                            break End::Close(close::TOO_BIG, "frame too large");
                        }
                        if let Some(error) = handle_text(&connection, text.as_str()).await
                            && send_bytes(&mut sink, error.encode()).await.is_err()
                        {
                            break End::Gone;
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        break End::Close(close::UNSUPPORTED, "binary frames are not supported");
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => break End::Gone,
                    Some(Err(err)) => {
                        tracing::debug!(error = %err, "socket read failed");
                        break End::Close(close::TOO_BIG, "frame rejected");
                    }
                }
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > config.idle_timeout {
                    break End::Close(close::POLICY, "idle timeout");
                }
                if sink.send(Message::Ping(Bytes::new())).await.is_err() {
                    break End::Gone;
                }
            },
            _ = state.shutdown.cancelled() => {
                break End::Close(close::GOING_AWAY, "server shutting down");
            }
        }
    };
    if let End::Close(code, reason) = end {
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(reason),
        };
        if sink.send(Message::Close(Some(frame))).await.is_ok() {
            await_close_reply(&mut stream).await;
        }
    }
}

/// Completes the close handshake: reads until the client's own close frame (or the end),
/// for a bounded time, so frames in flight (pongs) do not meet a reset connection.
async fn await_close_reply(stream: &mut futures_util::stream::SplitStream<WebSocket>) {
    let drain = async {
        while let Some(Ok(frame)) = stream.next().await {
            if matches!(frame, Message::Close(_)) {
                break;
            }
        }
    };
    let _timed_out = tokio::time::timeout(CLOSE_REPLY_WAIT, drain).await;
}

/// Writes `first` and whatever else is queued, then flushes once.
async fn write_batch(
    sink: &mut Sink,
    connection: &mut Connection,
    first: Delivery,
) -> Result<(), axum::Error> {
    sink.feed(event_frame(&first)).await?;
    let mut written = 1;
    while written < MAX_BATCH {
        let Some(delivery) = connection.try_next() else {
            break;
        };
        sink.feed(event_frame(&delivery)).await?;
        written += 1;
    }
    sink.flush().await
}

/// The event's shared encoding; the first socket encodes, every other reuses the bytes.
fn event_frame(delivery: &Delivery) -> Message {
    let bytes = delivery.encoded(encode_event);
    Message::Text(Utf8Bytes::try_from(bytes).unwrap_or_else(|_| Utf8Bytes::from_static("{}")))
}

async fn send_bytes(sink: &mut Sink, bytes: Bytes) -> Result<(), axum::Error> {
    let text = Utf8Bytes::try_from(bytes).unwrap_or_else(|_| Utf8Bytes::from_static("{}"));
    sink.send(Message::Text(text)).await
}

/// Acts on one text frame; returns the error event to send back, if any. The sender's
/// acknowledgement is the echo the engine fans out to the sender's own sockets.
async fn handle_text(connection: &Connection, text: &str) -> Option<ErrorEvent> {
    let frame = match decode(text) {
        Ok(frame) => frame,
        Err(error) => return Some(error),
    };
    match frame {
        ClientFrame::Message(send) => send_message(connection, send).await.err(),
    }
}

async fn send_message(connection: &Connection, frame: SendFrame) -> Result<(), ErrorEvent> {
    let user = connection.user();
    let client_id = frame.client_id;
    let fail = |error: chat_core::Error, client_id: Option<String>| {
        let error = crate::error::ApiError::from(error);
        let (_, code) = error.status_and_code();
        ErrorEvent::new(code, error.detail(), client_id)
    };
    if let Some(claimed) = frame
        .sender_id
        .as_deref()
        .filter(|claimed| !claimed.is_empty())
        && claimed.parse::<chat_core::UserId>().ok() != Some(user.id)
    {
        let spoofed = chat_core::Error::Forbidden("sender_id is not the authenticated user".into());
        return Err(fail(spoofed, client_id));
    }
    let room = parse_room(&frame.room_id).map_err(|error| fail(error, client_id.clone()))?;
    connection
        .engine()
        .send(user, room, &frame.message, client_id.as_deref())
        .await
        .map(drop)
        .map_err(|error| fail(error, client_id))
}

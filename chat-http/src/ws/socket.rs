//! One socket's loop: frames in go to the engine, events out come from the hub's queue.
//!
//! Outgoing events go through the [`Outbox`], written in batches while the loop keeps
//! reading, pinging every `ping_interval` (one [`Clock`] keeps the loop's deadlines) and
//! watching shutdown. Frames read are acted on concurrently, up to [`IN_FLIGHT`] at once, so a
//! socket keeps writing its events while its messages commit; their error events go out in the
//! order the frames came, those telling the client to retry later held back a little to share
//! a write with the socket's other frames. A socket silent for `idle_timeout`, whose writes
//! make no progress for the write timeout (its peer stopped reading), or whose backlog
//! outgrows its queue is ended, and its slot freed, even while a write is blocked.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use bytes::Bytes;
use chat_core::UserId;
use chat_core::event::{Delivery, ServerEvent};
use chat_core::hub::Next;
use chat_core::metrics::DeliveryClock;
use chat_core::model::User;
use chat_core::{Connection, Engine};
use futures_util::StreamExt;
use futures_util::stream::{FuturesOrdered, SplitStream};
use tokio_util::sync::CancellationToken;

use super::clock::{Clock, Due};
use super::outbox::{Outbox, REFUSAL_HOLD, Sink};
use super::protocol::{ClientFrame, ErrorEvent, ReadFrame, SendFrame, TypingFrame, decode};
use crate::state::{AppState, HttpConfig};
use crate::wire::{encode_event, parse_files, parse_room, v1_receives};

/// Close codes (RFC 6455 §7.4.1).
mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const PROTOCOL_ERROR: u16 = 1002;
    pub const UNSUPPORTED: u16 = 1003;
    pub const INVALID_DATA: u16 = 1007;
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const TRY_AGAIN_LATER: u16 = 1013;
}

/// Frames one socket may have in progress (messages committing); past that the loop stops
/// reading until one completes, so a client that sends faster than its messages commit is
/// slowed by TCP rather than queued without bound.
const IN_FLIGHT: usize = 32;

/// How long a closed socket waits for the client's close frame.
const CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// Why the loop ended, and with which close code, if any.
enum End {
    Close(u16, &'static str),
    Gone,
}

/// Runs the socket until either side ends it.
/// `v2`: the socket speaks `chat.v2` and receives every event type; otherwise it gets only
/// what the original client draws (messages, presence, errors). `expires`: when the
/// authenticator's identity stops holding, the socket is closed with 1008.
///
/// The socket is split and the settings taken out of `state` before the loop's future is
/// made, so that the future, which every socket keeps for its life, holds neither.
pub fn run(
    socket: WebSocket,
    connection: Connection,
    state: AppState,
    v2: bool,
    expires: Option<tokio::time::Instant>,
) -> impl Future<Output = ()> + Send {
    let (sink, stream) = socket.split();
    let settings = Settings {
        backlog: state.engine.config().socket_queue.max(1),
        config: state.config,
        shutdown: state.shutdown,
        v2,
        expires,
    };
    serve(sink, stream, connection, settings)
}

/// What the loop needs of the server's state and the socket's handshake.
struct Settings {
    config: Arc<HttpConfig>,
    backlog: usize,
    shutdown: CancellationToken,
    v2: bool,
    expires: Option<tokio::time::Instant>,
}

/// [`run`]'s loop.
async fn serve(
    mut sink: Sink,
    mut stream: SplitStream<WebSocket>,
    mut connection: Connection,
    settings: Settings,
) {
    let Settings {
        config,
        backlog,
        shutdown,
        v2,
        expires,
    } = settings;
    let me = connection.user().id;
    let mut outbox = Outbox::new(config.write_timeout.min(config.idle_timeout));
    let mut clock = Clock::new(tokio::time::Instant::now(), config.ping_interval, expires);
    let timer = tokio::time::sleep_until(clock.next(None));
    tokio::pin!(timer);
    let mut last_heard = Instant::now();
    let delivered = DeliveryClock::new();
    // One wait for shutdown for the socket's life: a fresh one per turn of the loop would
    // register with the token, and deregister, for every frame.
    let shutdown = shutdown.cancelled_owned();
    tokio::pin!(shutdown);
    let engine = connection.engine().clone();
    let user = Arc::new(connection.user().clone());
    let act = move |text| -> InFlight { Box::pin(handle_text(engine.clone(), user.clone(), text)) };
    let mut pending: FuturesOrdered<InFlight> = FuturesOrdered::new();
    let end = loop {
        // Set only when it must fire sooner (or has fired): one set too early just fires,
        // finds nothing due and is set again, so a write's start and end, which move the
        // wanted instant, do not each touch the runtime's timer wheel.
        let wake_at = clock.next(outbox.next_due());
        if wake_at < timer.deadline() || timer.is_elapsed() {
            timer.as_mut().reset(wake_at);
        }
        tokio::select! {
            written = outbox.drain(&mut sink), if outbox.is_busy() => {
                if written.is_err() {
                    break End::Gone;
                }
            }
            () = &mut timer => {
                if outbox.is_stalled() {
                    tracing::debug!("socket write made no progress; dropping the socket");
                    break End::Gone;
                }
                let now = tokio::time::Instant::now();
                outbox.release_due(now);
                match clock.due(now) {
                    Due::Expired => break End::Close(close::POLICY, "authentication expired"),
                    Due::Ping if last_heard.elapsed() > config.idle_timeout => {
                        break End::Close(close::POLICY, "idle timeout");
                    }
                    Due::Ping => outbox.push(Message::Ping(Bytes::new())),
                    Due::Neither => {}
                }
            }
            next = connection.next() => match next {
                Next::Event(delivery) => {
                    if let Some(frame) = event_frame(&delivery, v2, me, &delivered) {
                        outbox.push(frame);
                    }
                    while let Some(delivery) = connection.try_next() {
                        if let Some(frame) = event_frame(&delivery, v2, me, &delivered) {
                            outbox.push(frame);
                        }
                    }
                    if outbox.waiting() > backlog {
                        break End::Close(close::TRY_AGAIN_LATER, "too slow");
                    }
                }
                Next::Overflowed => break End::Close(close::TRY_AGAIN_LATER, "too slow"),
                Next::Closed => break End::Close(close::GOING_AWAY, "server shutting down"),
                Next::Revoked => break End::Close(close::POLICY, "session revoked"),
            },
            Some(error) = pending.next(), if !pending.is_empty() => {
                match error {
                    Some(error) if error.retry_later() => {
                        outbox.push_held(text_frame(error.encode()), REFUSAL_HOLD);
                    }
                    Some(error) => outbox.push(text_frame(error.encode())),
                    None => {}
                }
            }
            frame = stream.next(), if pending.len() < IN_FLIGHT => {
                last_heard = Instant::now();
                match frame {
                    Some(Ok(Message::Text(text))) => {
                        if text.len() > config.max_frame_bytes {
                            break End::Close(close::TOO_BIG, "frame too large");
                        }
                        pending.push_back(act(text));
                    }
                    Some(Ok(Message::Binary(_))) => {
                        break End::Close(close::UNSUPPORTED, "binary frames are not supported");
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                    Some(Ok(Message::Close(_))) | None => break End::Gone,
                    Some(Err(err)) => break read_failure(err),
                }
            },
            _ = &mut shutdown => {
                break End::Close(close::GOING_AWAY, "server shutting down");
            }
        }
    };
    drop(connection);
    // Sends already read finish (their messages reach the room) though the socket ends.
    while pending.next().await.is_some() {}
    crate::metrics::socket_closed(match end {
        End::Close(_, reason) => reason,
        End::Gone => "gone",
    });
    if let End::Close(code, reason) = end {
        close(&mut sink, &mut stream, outbox, code, reason).await;
    }
}

/// A frame being acted on. Boxed: `FuturesOrdered` keeps a placeholder task as large as its
/// future type for the socket's whole life, and a send's future is ~1.5 KiB, a tenth of an idle
/// socket's memory (BENCHMARKS.md).
type InFlight = Pin<Box<dyn Future<Output = Option<ErrorEvent>> + Send>>;

/// Sends the close frame in place of what was still queued, as long as the peer keeps
/// reading, then waits a little for the client's own close frame.
async fn close(
    sink: &mut Sink,
    stream: &mut SplitStream<WebSocket>,
    mut outbox: Outbox,
    code: u16,
    reason: &'static str,
) {
    outbox.clear();
    outbox.push(Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    })));
    loop {
        let deadline = outbox.deadline();
        tokio::select! {
            written = outbox.drain(sink) => {
                if written.is_ok() {
                    let _timed_out = tokio::time::timeout(CLOSE_WAIT, await_close_reply(stream)).await;
                }
                return;
            }
            _ = tokio::time::sleep_until(deadline) => {
                if outbox.is_stalled() {
                    return;
                }
            }
        }
    }
}

/// The end a read error calls for: the close code that names the client's fault, or none
/// when the connection itself failed.
fn read_failure(err: axum::Error) -> End {
    use tungstenite::Error as E;
    let Ok(err) = err.into_inner().downcast::<E>() else {
        return End::Gone;
    };
    tracing::debug!(error = %err, "socket read failed");
    match *err {
        E::Capacity(_) => End::Close(close::TOO_BIG, "frame too large"),
        E::Utf8(_) => End::Close(close::INVALID_DATA, "invalid UTF-8"),
        E::Protocol(_) => End::Close(close::PROTOCOL_ERROR, "protocol error"),
        _ => End::Gone,
    }
}

/// Completes the close handshake: reads until the client's own close frame (or the end), so
/// frames in flight (pongs) do not meet a reset connection.
async fn await_close_reply(stream: &mut SplitStream<WebSocket>) {
    while let Some(Ok(frame)) = stream.next().await {
        if matches!(frame, Message::Close(_)) {
            break;
        }
    }
}

/// The event's shared encoding; the first socket encodes, every other reuses the bytes.
/// `None` for an event the socket's protocol does not carry, and for the socket user's own
/// typing notice (the room hears it, the typist does not).
fn event_frame(
    delivery: &Delivery,
    v2: bool,
    me: UserId,
    clock: &DeliveryClock,
) -> Option<Message> {
    let event = delivery.event();
    if !(v2 || v1_receives(event)) {
        return None;
    }
    match event {
        ServerEvent::Typing { user_id, .. } if *user_id == me => return None,
        ServerEvent::Message(message) => clock.delivered(message),
        _ => {}
    }
    Some(text_frame(delivery.encoded(encode_event)))
}

fn text_frame(bytes: Bytes) -> Message {
    Message::Text(Utf8Bytes::try_from(bytes).unwrap_or_else(|_| Utf8Bytes::from_static("{}")))
}

/// Acts on one text frame; returns the error event to send back, if any. The sender's
/// acknowledgement is the echo the engine fans out to the sender's own sockets.
async fn handle_text(engine: Engine, user: Arc<User>, text: Utf8Bytes) -> Option<ErrorEvent> {
    let frame = match decode(text.as_str()) {
        Ok(frame) => frame,
        Err(error) => return Some(error),
    };
    match frame {
        ClientFrame::Message(send) => send_message(&engine, &user, send).await.err(),
        ClientFrame::Read(read) => mark_read(&engine, &user, read).await.err(),
        ClientFrame::Typing(typing) => typing_notice(&engine, &user, typing).await.err(),
    }
}

/// The error event for an engine error.
fn refusal(error: chat_core::Error, client_id: Option<String>) -> ErrorEvent {
    let error = crate::error::ApiError::from(error);
    ErrorEvent::new(error.client_code(), error.detail(), client_id)
}

async fn mark_read(engine: &Engine, user: &User, frame: ReadFrame) -> Result<(), ErrorEvent> {
    let room = parse_room(&frame.room_id).map_err(|error| refusal(error, None))?;
    engine
        .mark_read(user, room, frame.seq)
        .await
        .map(drop)
        .map_err(|error| refusal(error, None))
}

async fn typing_notice(engine: &Engine, user: &User, frame: TypingFrame) -> Result<(), ErrorEvent> {
    let room = parse_room(&frame.room_id).map_err(|error| refusal(error, None))?;
    engine
        .typing(user, room)
        .await
        .map(drop)
        .map_err(|error| refusal(error, None))
}

async fn send_message(engine: &Engine, user: &User, frame: SendFrame) -> Result<(), ErrorEvent> {
    let client_id = frame.client_id;
    let fail = refusal;
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
    let files = parse_files(&frame.attachments).map_err(|error| fail(error, client_id.clone()))?;
    engine
        .send_with_files(user, room, &frame.message, client_id.as_deref(), &files)
        .await
        .map(drop)
        .map_err(|error| fail(error, client_id))
}

//! The WebSocket endpoint: authentication before the upgrade, then the socket loop.

mod clock;
mod outbox;
mod protocol;
mod socket;

use std::pin::Pin;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use chat_core::UserId;
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::authenticator::AuthRequest;
use crate::error::ApiResult;
use crate::scheme::Origin;
use crate::state::AppState;

/// Query of the socket route.
#[derive(Debug, Deserialize)]
pub struct SocketQuery {
    /// Read by the authenticator (`?token=`); here so a malformed query is refused as before.
    #[serde(rename = "token")]
    _token: Option<String>,
    /// `2` asks for protocol v2, for clients that cannot offer a subprotocol.
    protocol: Option<String>,
}

/// The subprotocol of protocol v2: every event type, membership events included.
pub const V2_SUBPROTOCOL: &str = "chat.v2";

/// tungstenite's own ceiling; frames between our limit and this get a clean 1009 close.
const HARD_FRAME_FACTOR: usize = 4;

/// The most a socket reads at once, and the read buffer it keeps for its whole life. A chat
/// frame is a few hundred bytes, and a longer one reserves its own length, so a larger buffer
/// only costs every socket memory (BENCHMARKS.md: against 4 KiB, an idle socket takes about
/// 2 KiB less, and 8 KB messages cost the same CPU).
const READ_BUFFER_BYTES: usize = 2 * 1024;

/// `GET /ws/{user_id}` and `GET /api/ws/{user_id}`: a socket for the user the state's
/// authenticator names (with ours, the token's user). Refused with 401 (no or bad token), 403
/// (another user's id, or a cookie from a foreign origin) or 429 (too many sockets) before
/// any upgrade; closed with 1008 when the authenticator's expiry passes. A socket offering the subprotocol `chat.v2`
/// (selected in the reply) or asking `?protocol=2` speaks protocol v2.
pub async fn upgrade(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    Query(query): Query<SocketQuery>,
    headers: HeaderMap,
    uri: Uri,
    origin: Origin,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    let request = AuthRequest::new(&headers, &uri, true, origin, &state.config);
    let identity = state.authenticator.authenticate(&request).await?;
    let (session, expires) = (identity.token_session(), identity.expiry().map(until));
    let user = identity.resolve(&state.engine).await?;
    if user_id.parse::<UserId>().ok() != Some(user.id) {
        return Err(chat_core::Error::Forbidden("socket path names another user".into()).into());
    }
    let upgrade = upgrade.protocols([V2_SUBPROTOCOL]);
    let v2 = upgrade.selected_protocol().is_some() || query.protocol.as_deref() == Some("2");
    let connection = match session {
        Some(claims) => state.engine.connect_session(user, claims).await?,
        None => state.engine.connect(user).await?,
    };
    let limit = state.config.max_frame_bytes;
    let hard_limit = limit * HARD_FRAME_FACTOR;
    Ok(upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(hard_limit.max(1024 * 1024))
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .on_upgrade(move |websocket| {
            let tracker = state.sockets.clone();
            let abort = state.abort.clone();
            // The loop is boxed and run by a task of its own: the upgrade's task would hold it
            // inside its own larger state, and a future that took the loop by value would
            // keep room for it twice, for the socket's whole life (BENCHMARKS.md).
            let socket = Box::pin(socket::run(websocket, connection, state, v2, expires));
            tokio::spawn(tracker.track_future(until_aborted(socket, abort)));
            std::future::ready(())
        }))
}

/// Runs `socket` until it ends or the server aborts.
async fn until_aborted<F: Future<Output = ()>>(socket: Pin<Box<F>>, abort: CancellationToken) {
    tokio::select! {
        () = socket => {}
        () = abort.cancelled() => {}
    }
}

/// The instant of the runtime's clock at which `at` (wall clock) comes; now if it has passed.
fn until(at: chat_core::model::Timestamp) -> tokio::time::Instant {
    let left = (at - chrono::Utc::now()).to_std().unwrap_or_default();
    tokio::time::Instant::now() + left
}

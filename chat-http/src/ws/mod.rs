//! The WebSocket endpoint: authentication before the upgrade, then the socket loop.

mod outbox;
mod protocol;
mod socket;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chat_core::UserId;
use serde::Deserialize;

use crate::auth::{TokenSource, find_token, origin_allowed};
use crate::error::{ApiError, ApiResult};
use crate::scheme::Origin;
use crate::state::AppState;

/// Query of the socket route.
#[derive(Debug, Deserialize)]
pub struct SocketQuery {
    token: Option<String>,
    /// `2` asks for protocol v2, for clients that cannot offer a subprotocol.
    protocol: Option<String>,
}

/// The subprotocol of protocol v2: every event type, membership events included.
pub const V2_SUBPROTOCOL: &str = "chat.v2";

/// tungstenite's own ceiling; frames between our limit and this get a clean 1009 close.
const HARD_FRAME_FACTOR: usize = 4;

/// `GET /ws/{user_id}` and `GET /api/ws/{user_id}`: a socket for the token's user. Refused
/// with 401 (no or bad token), 403 (another user's id, or a cookie from a foreign origin) or
/// 429 (too many sockets) before any upgrade. A socket offering the subprotocol `chat.v2`
/// (selected in the reply) or asking `?protocol=2` speaks protocol v2.
pub async fn upgrade(
    State(state): State<AppState>,
    Path(user_id): Path<String>,
    Query(query): Query<SocketQuery>,
    headers: HeaderMap,
    origin: Origin,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    let unauthenticated =
        |detail: &str| ApiError::Core(chat_core::Error::Unauthenticated(detail.into()));
    let (token, source) = find_token(&headers, query.token.as_deref())
        .ok_or_else(|| unauthenticated("missing authentication token"))?;
    if source == TokenSource::Cookie && !origin_allowed(&headers, &origin, &state.config) {
        return Err(chat_core::Error::Forbidden("origin not allowed".into()).into());
    }
    let (user, claims) = state.engine.authenticate_claims(&token).await?;
    if user_id.parse::<UserId>().ok() != Some(user.id) {
        return Err(chat_core::Error::Forbidden("socket path names another user".into()).into());
    }
    let upgrade = upgrade.protocols([V2_SUBPROTOCOL]);
    let v2 = upgrade.selected_protocol().is_some() || query.protocol.as_deref() == Some("2");
    let connection = state.engine.connect_session(user, claims).await?;
    let limit = state.config.max_frame_bytes;
    let hard_limit = limit * HARD_FRAME_FACTOR;
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(hard_limit.max(1024 * 1024))
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .on_upgrade(move |websocket| {
            let tracker = state.sockets.clone();
            let abort = state.abort.clone();
            tracker.track_future(async move {
                tokio::select! {
                    _ = socket::run(websocket, connection, state, v2) => {}
                    _ = abort.cancelled() => {}
                }
            })
        }))
}

//! Read positions and catch-up over REST: marking a room read, the members' positions, and
//! the change feed of a room.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chat_core::UserId;
use chat_core::model::Timestamp;
use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::wire::{MessageOut, parse_room};

/// Body of `POST /api/rooms/{room_id}/read`.
#[derive(Debug, Deserialize)]
pub struct ReadIn {
    seq: u64,
}

/// A read position.
#[derive(Debug, Serialize)]
struct ReadOut {
    room_id: String,
    user_id: UserId,
    seq: u64,
}

/// `POST /api/rooms/{room_id}/read` `{"seq"}`: moves the caller's read position up (a lower
/// seq is ignored, a seq past the room's newest is clamped); 200 with the position now.
pub async fn mark(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(room): Path<String>,
    ApiJson(body): ApiJson<ReadIn>,
) -> ApiResult<Response> {
    let room = parse_room(&room)?;
    let seq = state.engine.mark_read(&user, room, body.seq).await?;
    Ok(Json(ReadOut {
        room_id: room.to_string(),
        user_id: user.id,
        seq,
    })
    .into_response())
}

/// `GET /api/rooms/{room_id}/reads`: every member's read position in rooms of up to
/// `RECEIPT_ROOM_LIMIT` members (what "seen by" is drawn from); only the caller's in bigger
/// ones.
pub async fn list(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(room): Path<String>,
) -> ApiResult<Response> {
    let room = parse_room(&room)?;
    let positions = state.engine.read_positions(user.id, room).await?;
    let out: Vec<ReadOut> = positions
        .into_iter()
        .map(|(user_id, seq)| ReadOut {
            room_id: room.to_string(),
            user_id,
            seq,
        })
        .collect();
    Ok(Json(out).into_response())
}

/// Query of `GET /api/rooms/{room_id}/changes`.
#[derive(Debug, Deserialize)]
pub struct ChangesQuery {
    since: Option<String>,
    limit: Option<usize>,
}

/// The answer of `GET /api/rooms/{room_id}/changes`.
#[derive(Debug, Serialize)]
struct ChangesOut<'a> {
    cursor: String,
    more: bool,
    changes: Vec<MessageOut<'a>>,
}

const DEFAULT_CHANGES: usize = 100;

/// `GET /api/rooms/{room_id}/changes?since=CURSOR&limit=`: the room's messages edited,
/// deleted or reacted to since the cursor, as they are now, oldest change first, with the
/// next `cursor` and whether `more` follow at once. Without `since`: no changes, and the
/// cursor to start from.
pub async fn changes(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(room): Path<String>,
    ApiQuery(query): ApiQuery<ChangesQuery>,
) -> ApiResult<Response> {
    let room = parse_room(&room)?;
    let since = query.since.as_deref().map(parse_cursor).transpose()?;
    let page = state
        .engine
        .changes(&user, room, since, query.limit.unwrap_or(DEFAULT_CHANGES))
        .await?;
    Ok(Json(ChangesOut {
        cursor: page.cursor.timestamp_millis().to_string(),
        more: page.more,
        changes: page
            .changes
            .iter()
            .map(|changed| MessageOut::for_viewer(&changed.message, user.id))
            .collect(),
    })
    .into_response())
}

/// A change cursor: milliseconds since the epoch, as this server hands them out.
fn parse_cursor(cursor: &str) -> Result<Timestamp, chat_core::Error> {
    cursor
        .parse::<i64>()
        .ok()
        .and_then(Timestamp::from_timestamp_millis)
        .ok_or_else(|| chat_core::Error::Invalid("since must be a cursor from this API".into()))
}

//! Reactions over REST: each user reacts to a message with an emoji once.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::state::AppState;
use crate::wire::{MessageOut, parse_message, parse_room};

/// `PUT /api/messages/{room_id}/{message_id}/reactions/{emoji}` (the emoji URL-encoded, one
/// grapheme cluster): adds the caller's reaction; 200 with the message and its reactions.
/// Reacting twice changes nothing; a new emoji beyond the per-message limit is 409.
pub async fn add(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((room, id, emoji)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let (room, id) = (parse_room(&room)?, parse_message(&id)?);
    let reacted = state.engine.react(&user, room, id, &emoji, true).await?;
    Ok(Json(MessageOut::for_viewer(&reacted.message, user.id)).into_response())
}

/// `DELETE /api/messages/{room_id}/{message_id}/reactions/{emoji}`: removes the caller's
/// reaction (if any); 200 with the message and its reactions.
pub async fn remove(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((room, id, emoji)): Path<(String, String, String)>,
) -> ApiResult<Response> {
    let (room, id) = (parse_room(&room)?, parse_message(&id)?);
    let reacted = state.engine.react(&user, room, id, &emoji, false).await?;
    Ok(Json(MessageOut::for_viewer(&reacted.message, user.id)).into_response())
}

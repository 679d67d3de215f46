//! The caller's rooms, and opening a direct room.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chat_core::UserId;

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::state::AppState;
use crate::wire::{OpenRoomIn, RoomOut};

/// `GET /api/chats`: the caller's rooms, most recent activity first.
pub async fn list(State(state): State<AppState>, AuthUser(user): AuthUser) -> ApiResult<Response> {
    let rooms = state.engine.rooms(user.id).await?;
    let out: Vec<RoomOut> = rooms
        .iter()
        .map(|room| RoomOut::new(room, user.id))
        .collect();
    Ok(Json(out).into_response())
}

/// `POST /api/chats` and `POST /api/chats/create-room`: the direct room with `to_user_id`,
/// created once per pair.
pub async fn open(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiJson(body): ApiJson<OpenRoomIn>,
) -> ApiResult<Response> {
    let other: UserId = body
        .to_user_id
        .parse()
        .map_err(|_| chat_core::Error::NotFound("user not found".into()))?;
    let room = state.engine.open_direct(user.id, other).await?;
    Ok(Json(RoomOut::new(&room, user.id)).into_response())
}

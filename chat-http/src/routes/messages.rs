//! Room history and sending over REST.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chat_core::MessageId;

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::wire::{HistoryQuery, MessageOut, SendIn, parse_files, parse_room};

const DEFAULT_PAGE: usize = 50;

/// `GET /api/messages/{room_id}?limit=&before=`: newest first; `before` is a message id.
pub async fn history(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(room): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Response> {
    let room = parse_room(&room)?;
    let before = match query.before.as_deref().filter(|b| !b.is_empty()) {
        None => None,
        Some(cursor) => Some(
            cursor
                .parse::<MessageId>()
                .map_err(|_| chat_core::Error::Invalid("before must be a message id".into()))?,
        ),
    };
    let page = state
        .engine
        .history(&user, room, before, query.limit.unwrap_or(DEFAULT_PAGE))
        .await?;
    let out: Vec<MessageOut> = page.iter().map(MessageOut::new).collect();
    Ok(Json(out).into_response())
}

/// `POST /api/messages/{room_id}` `{"message","client_id"?,"attachments"?}`: the socket's
/// send path for clients without a socket.
pub async fn send(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(room): Path<String>,
    ApiJson(body): ApiJson<SendIn>,
) -> ApiResult<Response> {
    let room = parse_room(&room)?;
    let files = parse_files(&body.attachments)?;
    let message = state
        .engine
        .send_with_files(
            &user,
            room,
            &body.message,
            body.client_id.as_deref(),
            &files,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(MessageOut::new(&message))).into_response())
}

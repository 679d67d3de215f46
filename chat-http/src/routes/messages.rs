//! Room history and sending over REST.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::wire::{HistoryQuery, MessageOut, SendIn, parse_cursor, parse_files, parse_room};

const DEFAULT_PAGE: usize = 50;

/// `GET /api/messages/{room_id}?limit=&before=`: newest first; `before` is a message id.
/// `?around=SEQ&limit=` instead gives the page with that message in it (about half newer,
/// half older, still newest first), where a search hit opens the conversation.
pub async fn history(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(room): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Response> {
    let room = parse_room(&room)?;
    let before = parse_cursor(query.before.as_deref())?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    let page = match (query.around, before) {
        (Some(_), Some(_)) => {
            return Err(chat_core::Error::Invalid("give around or before, not both".into()).into());
        }
        (Some(seq), None) => state.engine.history_around(&user, room, seq, limit).await?,
        (None, before) => state.engine.history(&user, room, before, limit).await?,
    };
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

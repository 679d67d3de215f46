//! Room history (backward, and forward for catching up), sending, editing and deleting over
//! REST.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chat_core::model::User;
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::wire::{
    HistoryQuery, MessageOut, SendIn, parse_cursor, parse_files, parse_message, parse_room,
};

const DEFAULT_PAGE: usize = 50;

/// `GET /api/messages/{room_id}?limit=&before=`: newest first; `before` is a message id.
/// `?around=SEQ&limit=` instead gives the page with that message in it (about half newer,
/// half older, still newest first), where a search hit opens the conversation.
/// With `?after=SEQ` instead: the entries above that seq, oldest first, for catching up.
pub async fn history(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(room): Path<String>,
    ApiQuery(query): ApiQuery<HistoryQuery>,
) -> ApiResult<Response> {
    let room = parse_room(&room)?;
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    let page = match (query.around, query.after) {
        (Some(_), Some(_)) => {
            return Err(chat_core::Error::Invalid("give around or after, not both".into()).into());
        }
        (None, Some(after)) => {
            state
                .engine
                .history_after(&user, room, after, limit)
                .await?
        }
        (around, None) => match (around, parse_cursor(query.before.as_deref())?) {
            (Some(_), Some(_)) => {
                return Err(
                    chat_core::Error::Invalid("give around or before, not both".into()).into(),
                );
            }
            (Some(seq), None) => state.engine.history_around(&user, room, seq, limit).await?,
            (None, before) => state.engine.history(&user, room, before, limit).await?,
        },
    };
    Ok(Json(viewed(&page, &user)).into_response())
}

/// Messages as `viewer` sees them (its own reactions marked).
fn viewed<'a>(messages: &'a [chat_core::model::Message], viewer: &User) -> Vec<MessageOut<'a>> {
    messages
        .iter()
        .map(|message| MessageOut::for_viewer(message, viewer.id))
        .collect()
}

/// Body of `PATCH /api/messages/{room_id}/{message_id}`.
#[derive(Debug, Deserialize)]
pub struct EditIn {
    /// The new text.
    pub message: String,
}

/// `PATCH /api/messages/{room_id}/{message_id}` `{"message"}`: the author replaces the text
/// (403 for anyone else, 409 once deleted); 200 with the message, which keeps its seq and
/// gains `edited_at`.
pub async fn edit(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((room, id)): Path<(String, String)>,
    ApiJson(body): ApiJson<EditIn>,
) -> ApiResult<Response> {
    let (room, id) = (parse_room(&room)?, parse_message(&id)?);
    let message = state
        .engine
        .edit_message(&user, room, id, &body.message)
        .await?;
    Ok(Json(MessageOut::for_viewer(&message, user.id)).into_response())
}

/// `DELETE /api/messages/{room_id}/{message_id}`: the author, or a group's owner or admin,
/// deletes the message for good; 200 with the tombstone (`"deleted": true`, no text).
pub async fn delete(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((room, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (room, id) = (parse_room(&room)?, parse_message(&id)?);
    let tombstone = state.engine.delete_message(&user, room, id).await?;
    Ok(Json(MessageOut::new(&tombstone)).into_response())
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

//! Message search over the caller's rooms.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::state::AppState;
use crate::wire::{SearchIn, SearchOut, parse_cursor, parse_room};

const DEFAULT_HITS: usize = 20;

/// `GET /api/search?q=&room_id=&limit=&before=`: the caller's messages (of one room, or of
/// every room it is in now) containing every word of `q`, newest first, each with a snippet;
/// `before` is `next_before` of the previous page.
pub async fn search(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(query): ApiQuery<SearchIn>,
) -> ApiResult<Response> {
    let room = match query.room_id.as_deref().filter(|room| !room.is_empty()) {
        None => None,
        Some(room) => Some(parse_room(room)?),
    };
    let before = parse_cursor(query.before.as_deref())?;
    let limit = query
        .limit
        .unwrap_or(DEFAULT_HITS)
        .clamp(1, chat_core::search::MAX_HITS);
    let hits = state
        .engine
        .search(&user, query.q.as_deref().unwrap_or(""), room, before, limit)
        .await?;
    Ok(Json(SearchOut::new(&hits, limit)).into_response())
}

//! The caller's own record and the user directory, whoever owns the users.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::extract::ApiQuery;
use crate::state::AppState;
use crate::wire::UserOut;

/// Query of `GET /api/all-users`.
#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
    limit: Option<usize>,
}

const DEFAULT_USER_LIMIT: usize = 200;

/// `GET /api/me`: the caller's account.
pub async fn me(AuthUser(user): AuthUser) -> Json<UserOut> {
    Json(UserOut::new(user, None))
}

/// `GET /api/all-users?q=&limit=`: other users, with presence.
pub async fn all_users(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiQuery(query): ApiQuery<UsersQuery>,
) -> ApiResult<Json<Vec<UserOut>>> {
    let limit = query.limit.unwrap_or(DEFAULT_USER_LIMIT);
    let users = state
        .engine
        .list_users(user.id, query.q.as_deref(), limit)
        .await?;
    Ok(Json(
        users
            .into_iter()
            .map(|(user, online)| UserOut::new(user, Some(online)))
            .collect(),
    ))
}

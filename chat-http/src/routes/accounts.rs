//! Registration, login, logout and user listings.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use chat_core::Session;
use serde::Deserialize;

use crate::auth::{AuthUser, cleared_cookie, session_cookie};
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::wire::{SessionOut, SessionUser, UserOut};

/// Body of `POST /api/register`.
#[derive(Debug, Deserialize)]
pub struct RegisterIn {
    email: String,
    password: String,
    name: String,
}

/// Body of `POST /api/login`.
#[derive(Debug, Deserialize)]
pub struct LoginIn {
    email: String,
    password: String,
}

/// Query of `GET /api/all-users`.
#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
    limit: Option<usize>,
}

const DEFAULT_USER_LIMIT: usize = 200;

fn signed_in(
    state: &AppState,
    jar: CookieJar,
    session: Session,
    message: &'static str,
) -> impl IntoResponse + use<> {
    let jar = jar.add(session_cookie(session.token.clone(), state));
    let body = SessionOut {
        message,
        token: session.token,
        user: SessionUser {
            id: session.user.id,
            email: session.user.email,
            name: session.user.name,
        },
    };
    (jar, Json(body))
}

/// `POST /api/register`: creates an account and signs it in (token in body and cookie).
pub async fn register(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(body): ApiJson<RegisterIn>,
) -> ApiResult<impl IntoResponse> {
    let session = state
        .engine
        .register(&body.email, &body.password, &body.name)
        .await?;
    Ok(signed_in(&state, jar, session, "registered"))
}

/// `POST /api/login`: signs in with email and password.
pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginIn>,
) -> ApiResult<impl IntoResponse> {
    let session = state.engine.login(&body.email, &body.password).await?;
    Ok(signed_in(&state, jar, session, "logged in"))
}

/// `POST /api/logout`: clears the session cookie.
pub async fn logout(jar: CookieJar) -> impl IntoResponse {
    (jar.remove(cleared_cookie()), StatusCode::NO_CONTENT)
}

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

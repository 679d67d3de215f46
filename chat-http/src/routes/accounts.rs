//! Our own accounts: registration, login, logout and password changes (the `accounts`
//! feature; an app that brings its own users leaves them out).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum_extra::extract::CookieJar;
use chat_core::Session;
use serde::Deserialize;

use crate::auth::{ClientAddr, cleared_cookie, find_token, session_cookie};
use crate::error::ApiError;
use crate::error::ApiResult;
use crate::extract::ApiJson;
use crate::scheme::Origin;
use crate::state::AppState;
use crate::wire::{SessionOut, SessionUser};

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

/// Body of `POST /api/me/password`.
#[derive(Debug, Deserialize)]
pub struct PasswordIn {
    current_password: String,
    new_password: String,
}

fn signed_in(
    state: &AppState,
    origin: &Origin,
    jar: CookieJar,
    session: Session,
    message: &'static str,
) -> impl IntoResponse + use<> {
    let jar = jar.add(session_cookie(session.token.clone(), state, origin));
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
    ClientAddr(client): ClientAddr,
    origin: Origin,
    jar: CookieJar,
    ApiJson(body): ApiJson<RegisterIn>,
) -> ApiResult<impl IntoResponse> {
    let session = state
        .engine
        .register_from(client, &body.email, &body.password, &body.name)
        .await?;
    Ok(signed_in(&state, &origin, jar, session, "registered"))
}

/// `POST /api/login`: signs in with email and password. 429 when the address or the
/// account tried too often, 503 when password checking is saturated (both with
/// `Retry-After`).
pub async fn login(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    origin: Origin,
    jar: CookieJar,
    ApiJson(body): ApiJson<LoginIn>,
) -> ApiResult<impl IntoResponse> {
    let session = state
        .engine
        .login_from(client, &body.email, &body.password)
        .await?;
    Ok(signed_in(&state, &origin, jar, session, "logged in"))
}

/// `POST /api/logout`: revokes the caller's session on every node and clears the cookie.
/// A cookie logout from a foreign origin never gets here (the origin guard refuses every
/// such cookie write with 403).
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
) -> ApiResult<impl IntoResponse> {
    if let Some((token, _)) = find_token(&headers, None) {
        state.engine.logout(&token).await?;
    }
    Ok((jar.remove(cleared_cookie()), StatusCode::NO_CONTENT))
}

/// `POST /api/me/password` `{"current_password","new_password"}`: replaces the password,
/// revokes every session of the user (sockets included) and signs this caller in again (new
/// token in body and cookie). 403 for a wrong current password.
pub async fn change_password(
    State(state): State<AppState>,
    headers: HeaderMap,
    origin: Origin,
    jar: CookieJar,
    ApiJson(body): ApiJson<PasswordIn>,
) -> ApiResult<impl IntoResponse> {
    let (token, _) = find_token(&headers, None).ok_or_else(|| {
        ApiError::Core(chat_core::Error::Unauthenticated(
            "missing authentication token".into(),
        ))
    })?;
    let user = state.engine.authenticate(&token).await?;
    let session = state
        .engine
        .change_password(&user, &body.current_password, &body.new_password)
        .await?;
    Ok(signed_in(&state, &origin, jar, session, "password changed"))
}

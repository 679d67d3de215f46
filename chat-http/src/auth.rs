//! Who is calling: the [`AuthUser`] of a REST route, as the state's
//! [`Authenticator`](crate::authenticator::Authenticator) says; and our own tokens, from the
//! `authtoken` header (the old client), `Authorization: Bearer`, a `?token=` (sockets only) or
//! the session cookie (browsers).

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::{AUTHORIZATION, ORIGIN};
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chat_core::model::User;

use crate::authenticator::AuthRequest;
use crate::error::ApiError;
use crate::scheme::Origin;
use crate::state::{AppState, HttpConfig};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "chat_token";

/// Where a token came from; cookies need an origin check on sockets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// A header or the query: the client chose to send it.
    Explicit,
    /// The browser attached it by itself.
    Cookie,
}

/// The token of a request, from headers first, then `query_token`, then the cookie.
pub fn find_token(headers: &HeaderMap, query_token: Option<&str>) -> Option<(String, TokenSource)> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(token) = header("authtoken").filter(|t| !t.is_empty()) {
        return Some((token.trim().to_owned(), TokenSource::Explicit));
    }
    if let Some(bearer) = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    {
        return Some((bearer.trim().to_owned(), TokenSource::Explicit));
    }
    if let Some(token) = query_token.filter(|t| !t.is_empty()) {
        return Some((token.to_owned(), TokenSource::Explicit));
    }
    CookieJar::from_headers(headers)
        .get(SESSION_COOKIE)
        .map(|cookie| (cookie.value().to_owned(), TokenSource::Cookie))
}

/// Whether a browser request's `Origin` may use the cookie: the server's own origin (`own`)
/// or one configured. Requests without `Origin` (non-browser clients) pass.
pub fn origin_allowed(headers: &HeaderMap, own: &Origin, config: &HttpConfig) -> bool {
    headers
        .get(ORIGIN)
        .and_then(|value| value.to_str().ok())
        .is_none_or(|origin| crate::origin::trusted(origin, own, config))
}

/// The address of the client, when the server records it (`ConnectInfo<SocketAddr>`, which
/// `serve` provides), or behind a trusted proxy the one it recorded
/// ([`crate::forwarded_for`]); login and registration limits count by it.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| {
                    crate::forwarded_for::client_address(
                        peer.ip(),
                        &parts.headers,
                        &state.config.trusted_proxies,
                    )
                }),
        ))
    }
}

/// The authenticated caller of a REST route.
#[derive(Debug, Clone)]
pub struct AuthUser(pub User);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let own = Origin::of(&parts.headers, &parts.extensions, &state.config);
        let request = AuthRequest::new(&parts.headers, &parts.uri, false, own, &state.config);
        let identity = state.authenticator.authenticate(&request).await?;
        Ok(AuthUser(identity.resolve(&state.engine).await?))
    }
}

/// The session cookie set at login and register; `Secure` when the client came over HTTPS
/// (our TLS, or a trusted proxy's) or the operator asked for it.
pub fn session_cookie(token: String, state: &AppState, origin: &Origin) -> Cookie<'static> {
    let max_age = state.engine.token_lifetime().as_secs() as i64;
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies || origin.is_https())
        .path("/")
        .max_age(time::Duration::seconds(max_age))
        .build()
}

/// A cookie that clears the session at logout.
pub fn cleared_cookie() -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, "")).path("/").build()
}

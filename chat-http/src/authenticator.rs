//! Who is calling, decided by whoever owns the users: the [`Authenticator`] trait, asked once
//! per REST request that needs a caller and once per socket before its upgrade.
//!
//! The bundled server uses [`TokenAuthenticator`]: our own tokens from the `authtoken` header,
//! `Authorization: Bearer`, `?token=` (sockets only) or the session cookie. An app that embeds
//! chat behind its own login implements the trait over its own session (a cookie, a header)
//! and hands it to [`ChatRouter::authenticator`](crate::ChatRouter::authenticator).

use std::sync::Arc;

use async_trait::async_trait;
use axum::extract::Query;
use axum::http::header::ORIGIN;
use axum::http::{HeaderMap, Uri};
use axum_extra::extract::cookie::CookieJar;
use chat_core::auth::TokenClaims;
use chat_core::model::{Timestamp, User};
use chat_core::{Engine, Error, Result, UserId};

use crate::auth::{TokenSource, find_token};
use crate::origin::{request_origin, trusted};
use crate::scheme::Origin;
use crate::state::HttpConfig;

/// Decides who a request comes from. Implemented by the host; asked for every REST call that
/// needs a caller and for every socket before it is upgraded.
///
/// A refusal is a [`chat_core::Error`]: `Unauthenticated` answers 401 (a socket is refused
/// before the upgrade with the same JSON body), `Forbidden` 403, `Unavailable` 503. An
/// authenticator that reads a cookie the browser sends by itself should refuse requests whose
/// [`AuthRequest::origin_trusted`] is false, so that a page of another origin cannot open a
/// socket or write in the user's name ([`TokenAuthenticator`] refuses such sockets itself; the
/// router's guard refuses such writes carrying our own cookie).
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// The identity of the caller of `request`, or why it is refused.
    async fn authenticate(&self, request: &AuthRequest<'_>) -> Result<Identity>;
}

/// What an [`Authenticator`] sees of a request: its headers (cookies among them), its URI
/// (path and query) and whether it opens a socket.
#[derive(Debug)]
pub struct AuthRequest<'a> {
    headers: &'a HeaderMap,
    uri: &'a Uri,
    socket: bool,
    own: Origin,
    config: &'a HttpConfig,
}

impl<'a> AuthRequest<'a> {
    /// A view of a request to the server whose own origin is `own`.
    pub fn new(
        headers: &'a HeaderMap,
        uri: &'a Uri,
        socket: bool,
        own: Origin,
        config: &'a HttpConfig,
    ) -> Self {
        AuthRequest {
            headers,
            uri,
            socket,
            own,
            config,
        }
    }

    /// The request's headers.
    pub fn headers(&self) -> &HeaderMap {
        self.headers
    }

    /// The request's URI as the router saw it (under a prefix, the prefix is gone).
    pub fn uri(&self) -> &Uri {
        self.uri
    }

    /// The value of a cookie, if the request carries it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        CookieJar::from_headers(self.headers)
            .get(name)
            .map(|cookie| cookie.value().to_owned())
    }

    /// The first value of a query parameter, if present.
    pub fn query(&self, name: &str) -> Option<String> {
        let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(self.uri).ok()?;
        pairs
            .into_iter()
            .find_map(|(key, value)| (key == name).then_some(value))
    }

    /// Whether the request opens a socket (else it is a REST call).
    pub fn is_socket(&self) -> bool {
        self.socket
    }

    /// Whether a browser's request comes from this server's own origin or one configured in
    /// `allowed_origins`; true for requests that name no origin (no browser). For a socket
    /// this is its `Origin`; for a REST call its `Origin`, else its `Referer`.
    pub fn origin_trusted(&self) -> bool {
        let origin = if self.socket {
            self.headers
                .get(ORIGIN)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)
        } else {
            request_origin(self.headers)
        };
        origin.is_none_or(|origin| trusted(&origin, &self.own, self.config))
    }
}

/// Who a request comes from, and what holds for its connection.
#[derive(Debug, Clone)]
pub struct Identity {
    user: UserId,
    record: Option<User>,
    display_name: Option<String>,
    expires_at: Option<Timestamp>,
    session: Option<TokenClaims>,
}

impl Identity {
    /// The user with this id; its record is read from the engine's store.
    pub fn user(id: UserId) -> Self {
        Identity {
            user: id,
            record: None,
            display_name: None,
            expires_at: None,
            session: None,
        }
    }

    /// A user whose record the authenticator already holds (from `upsert` or a lookup), so
    /// it is not read again.
    pub fn of(user: User) -> Self {
        let id = user.id;
        Identity {
            record: Some(user),
            ..Identity::user(id)
        }
    }

    /// The name the user goes by on this request or socket (its messages carry it), in place
    /// of the stored one.
    pub fn display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = Some(name.into());
        self
    }

    /// When the authentication stops holding: a socket is closed then (1008, "authentication
    /// expired"), and a request made after it is refused.
    pub fn expires_at(mut self, at: Timestamp) -> Self {
        self.expires_at = Some(at);
        self
    }

    /// The token session this identity rests on, so that revoking it closes the socket.
    pub fn session(mut self, claims: TokenClaims) -> Self {
        self.session = Some(claims);
        self
    }

    /// The user's id.
    pub fn user_id(&self) -> UserId {
        self.user
    }

    /// When the authentication stops holding, if ever.
    pub fn expiry(&self) -> Option<Timestamp> {
        self.expires_at
    }

    /// The token session, if the identity rests on one.
    pub fn token_session(&self) -> Option<TokenClaims> {
        self.session
    }

    /// The user's record as the engine should see it on this connection: the stored one
    /// (read unless the authenticator gave it), under the display name if one was given.
    /// Refused when the user does not exist or the authentication has already expired.
    pub async fn resolve(self, engine: &Engine) -> Result<User> {
        if self.expires_at.is_some_and(|at| at <= chrono::Utc::now()) {
            return Err(Error::Unauthenticated("authentication expired".into()));
        }
        let mut user = match self.record {
            Some(user) => user,
            None => engine.user(self.user).await.map_err(|error| match error {
                Error::NotFound(_) => Error::Unauthenticated("unknown user".into()),
                other => other,
            })?,
        };
        if let Some(name) = self.display_name {
            user.name = name;
        }
        Ok(user)
    }
}

/// The authenticator of the bundled server: our signed tokens, from the `authtoken` header,
/// `Authorization: Bearer`, `?token=` (sockets only) or the session cookie; a cookie socket
/// from a foreign origin is refused (403), and revoking the token's session closes the socket.
#[derive(Clone)]
pub struct TokenAuthenticator {
    engine: Engine,
}

impl TokenAuthenticator {
    /// Checks tokens signed with `engine`'s keys against its sessions.
    pub fn new(engine: Engine) -> Self {
        TokenAuthenticator { engine }
    }

    /// As a shared handle, the form [`AppState`](crate::AppState) keeps.
    pub fn shared(engine: Engine) -> Arc<dyn Authenticator> {
        Arc::new(TokenAuthenticator::new(engine))
    }
}

#[async_trait]
impl Authenticator for TokenAuthenticator {
    async fn authenticate(&self, request: &AuthRequest<'_>) -> Result<Identity> {
        let query_token = if request.is_socket() {
            request.query("token")
        } else {
            None
        };
        let (token, source) = find_token(request.headers(), query_token.as_deref())
            .ok_or_else(|| Error::Unauthenticated("missing authentication token".into()))?;
        if request.is_socket() && source == TokenSource::Cookie && !request.origin_trusted() {
            return Err(Error::Forbidden("origin not allowed".into()));
        }
        if request.is_socket() {
            let (user, claims) = self.engine.authenticate_claims(&token).await?;
            Ok(Identity::of(user).session(claims))
        } else {
            Ok(Identity::of(self.engine.authenticate(&token).await?))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chat_core::TokenKeys;
    use chat_core::memory::MemoryStore;

    use super::*;

    fn engine() -> Engine {
        Engine::builder(
            Arc::new(MemoryStore::new()),
            TokenKeys::from_secret(b"test"),
        )
        .build()
    }

    #[tokio::test]
    async fn an_identity_resolves_to_the_stored_user_under_its_display_name() {
        let engine = engine();
        let ann = engine.upsert_external_user("ann", "Ann").await.unwrap();
        let user = Identity::user(ann.id).resolve(&engine).await.unwrap();
        assert_eq!((user.id, user.name.as_str()), (ann.id, "Ann"));
        let renamed = Identity::user(ann.id).display_name("Ann (guest)");
        assert_eq!(renamed.resolve(&engine).await.unwrap().name, "Ann (guest)");
        let unknown = Identity::user(UserId::generate()).resolve(&engine).await;
        assert!(matches!(unknown, Err(Error::Unauthenticated(_))));
    }

    #[tokio::test]
    async fn an_expired_identity_is_refused() {
        let engine = engine();
        let ann = engine.upsert_external_user("ann", "Ann").await.unwrap();
        let past = chrono::Utc::now() - chrono::Duration::seconds(1);
        let expired = Identity::of(ann).expires_at(past).resolve(&engine).await;
        assert!(matches!(expired, Err(Error::Unauthenticated(_))));
    }
}

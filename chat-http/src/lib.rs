//! `chat-http`: the REST and WebSocket edge of the chat engine, on axum (hyper).
//!
//! It keeps the Message App's routes and field names ([`wire`]), authenticates every request
//! and socket through an [`Authenticator`] ([`authenticator`]; our own tokens in [`auth`]),
//! and is the only crate that knows JSON framing and status codes ([`error`]). Module map:
//! [`router`](mod@router) (routes and tower layers), [`mount`] (the router an app mounts), [`route_table`]
//! (the one list of served routes, which the API description is checked against), [`routes`]
//! (REST handlers), [`ws`] (the socket endpoint and loop), [`state`] (shared state and
//! settings), [`server`] (the accept loop, HTTP/1 timeouts, shutdown with a deadline),
//! [`admission`] (connection caps), [`json_errors`] (JSON bodies for every `/api` error, header
//! limits), [`origin`] (the origin check of cookie-authenticated writes), [`redact`] (no tokens
//! in logs), [`tls`] (in-process HTTPS/WSS, reloadable certificates), [`scheme`] (HTTPS or
//! not, own or behind a trusted proxy), `redirect` (the HTTP-to-HTTPS port), [`metrics`]
//! (`/metrics`, and HTTP and socket counts).
//!
//! # Embedding chat in an app
//!
//! The bundled `chat` binary serves this edge with our own accounts. An axum app that has its
//! own users and login mounts it instead, in six steps (the `chat-examples` crate does all of
//! them in a running app, and its tests drive it over real sockets):
//!
//! 1. **An engine over a store**: `Engine::builder(store, keys)` with a store from
//!    `chat-store-sqlite` (one server) or `chat-store-mongo` (several), or
//!    [`MemoryStore`](chat_core::memory::MemoryStore) in tests. Build `chat-core` and this
//!    crate with `default-features = false` to leave out our email/password accounts.
//! 2. **Host users**: map each of your users to a chat user by your own id with
//!    [`Engine::upsert_external_user`](chat_core::Engine::upsert_external_user) (at your
//!    login, or on first use); no password, no email ([`chat_core::users`]).
//! 3. **An authenticator**: implement [`Authenticator`] over your session (a cookie, a
//!    header): from an [`AuthRequest`] to an [`Identity`] (the chat user, optionally a display
//!    name and an expiry that closes the socket), or a refusal (401/403, and a refused socket).
//!    It is asked for REST calls and socket upgrades alike.
//! 4. **Hooks**: give the builder your [`Hooks`](chat_core::hooks::Hooks) to accept, reject
//!    or rewrite messages before they are stored, and to hear what happened after
//!    ([`chat_core::hooks`]); a rejection reaches the client as an error event or HTTP error.
//! 5. **Mount the router**: [`ChatRouter`] builds an `axum::Router` to nest under a prefix
//!    (`/chat`), inside your own tower layers, without our web client and account routes.
//!    Sockets are then at `/chat/ws/{user_id}` and the API at `/chat/api/...`.
//! 6. **Server-side sends**: your own code sends as the system user or a bot
//!    ([`Engine::send_as`](chat_core::Engine::send_as)), creates rooms and adds members, with
//!    every guarantee of a user's send (durable before delivery, seq order, idempotent by
//!    client id).
//!
//! ```
//! use std::collections::HashMap;
//! use std::sync::Arc;
//!
//! use async_trait::async_trait;
//! use axum::body::Body;
//! use axum::http::Request;
//! use chat_core::hooks::{Hooks, OutgoingMessage, Verdict};
//! use chat_core::{Engine, Error, ServerSender, TokenKeys, memory::MemoryStore};
//! use chat_http::{AuthRequest, Authenticator, ChatRouter, Identity};
//! use tower::ServiceExt;
//!
//! /// Step 3: the app's own sessions (here a map from session id to the app's user id).
//! struct AppSessions {
//!     engine: Engine,
//!     sessions: HashMap<String, String>,
//! }
//!
//! #[async_trait]
//! impl Authenticator for AppSessions {
//!     async fn authenticate(&self, request: &AuthRequest<'_>) -> chat_core::Result<Identity> {
//!         let app_user = request
//!             .cookie("app_session")
//!             .and_then(|id| self.sessions.get(&id).cloned())
//!             .ok_or_else(|| Error::Unauthenticated("sign in first".into()))?;
//!         if request.is_socket() && !request.origin_trusted() {
//!             return Err(Error::Forbidden("origin not allowed".into()));
//!         }
//!         Ok(Identity::of(self.engine.external_user(&app_user).await?))
//!     }
//! }
//!
//! /// Step 4: moderation before anything is stored.
//! struct NoSpam;
//!
//! #[async_trait]
//! impl Hooks for NoSpam {
//!     async fn on_send(&self, _engine: &Engine, message: &OutgoingMessage<'_>) -> Verdict {
//!         match message.text.contains("spam") {
//!             true => Verdict::reject("spam", "no spam here"),
//!             false => Verdict::Accept,
//!         }
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Step 1 (with the hooks of step 4).
//! let engine = Engine::builder(Arc::new(MemoryStore::new()), TokenKeys::from_secret(b"s3cret"))
//!     .hooks(Arc::new(NoSpam))
//!     .build();
//! // Step 2.
//! let ann = engine.upsert_external_user("app-user-17", "Ann").await?;
//! // Step 5.
//! let sessions = HashMap::from([("s-1".to_owned(), "app-user-17".to_owned())]);
//! let chat = ChatRouter::new(engine.clone())
//!     .authenticator(AppSessions { engine: engine.clone(), sessions })
//!     .without_accounts()
//!     .without_web_client()
//!     .build();
//! let app: axum::Router = axum::Router::new().nest("/chat", chat);
//! // Step 6.
//! let lobby = engine.create_group_as(ServerSender::System, "Lobby", &[ann.id]).await?.room;
//! engine.send_as(ServerSender::System, lobby.id, "Welcome!", Some("welcome")).await?;
//!
//! let me = Request::get("/chat/api/me").header("cookie", "app_session=s-1");
//! let response = app.clone().oneshot(me.body(Body::empty())?).await?;
//! assert_eq!(response.status(), 200);
//! let stranger = Request::get("/chat/api/me").body(Body::empty())?;
//! assert_eq!(app.oneshot(stranger).await?.status(), 401);
//! # Ok(())
//! # }
//! ```

pub mod admission;
pub mod auth;
pub mod authenticator;
pub mod error;
pub mod extract;
pub mod forwarded_for;
#[cfg(test)]
mod fuzz;
pub mod json_errors;
pub mod metrics;
pub mod mount;
pub mod origin;
pub mod ranges;
pub mod redact;
mod redirect;
pub mod route_table;
pub mod router;
pub mod routes;
pub mod scheme;
pub mod server;
pub mod state;
pub mod tls;
pub mod wire;
pub mod ws;

pub use authenticator::{AuthRequest, Authenticator, Identity, TokenAuthenticator};
pub use metrics::Metrics;
pub use mount::ChatRouter;
pub use router::router;
pub use server::{Endpoints, serve, serve_endpoints};
pub use state::{AppState, HttpConfig};
pub use tls::Tls;

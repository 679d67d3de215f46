//! The edge as a router an app mounts in its own: [`ChatRouter`] builds it over an engine,
//! with the app's [`Authenticator`], and can leave out our web client and our accounts.
//!
//! The router serves paths under `/api` and `/ws`; nested under a prefix
//! (`Router::new().nest("/chat", chat)`), they become `/chat/api/...` and `/chat/ws/...`, and
//! nothing in it answers with an absolute path of its own (no redirects; the session cookie of
//! our accounts is scoped to `/`, so it reaches the prefix too). The web client is built for
//! `/`: under a prefix, leave it out ([`ChatRouter::without_web_client`]) and serve your own. It brings its own tower layers
//! (tracing, CORS for `allowed_origins`, body limits, timeouts, JSON errors) and sits inside
//! whatever layers the app puts around it.

use std::sync::Arc;

use axum::Router;
use chat_core::Engine;

use crate::authenticator::Authenticator;
use crate::router::{Parts, build};
use crate::state::{AppState, HttpConfig};

/// Builds the chat router an app mounts; see the [module docs](self).
///
/// ```
/// # use std::sync::Arc;
/// # use chat_core::{Engine, TokenKeys, memory::MemoryStore};
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// # let engine = Engine::builder(Arc::new(MemoryStore::new()), TokenKeys::from_secret(b"s3cret")).build();
/// let chat = chat_http::ChatRouter::new(engine).without_web_client().build();
/// let app: axum::Router = axum::Router::new().nest("/chat", chat);
/// # }
/// ```
pub struct ChatRouter {
    state: AppState,
    parts: Parts,
}

impl ChatRouter {
    /// A router over `engine` with the default settings, authenticating with our tokens.
    pub fn new(engine: Engine) -> Self {
        ChatRouter::from_state(AppState::new(engine, HttpConfig::default()))
    }

    /// A router over a state already made (to share its shutdown signal with a server).
    pub fn from_state(state: AppState) -> Self {
        ChatRouter {
            state,
            parts: Parts::all(),
        }
    }

    /// Edge settings (origins, limits, timeouts), in place of the defaults.
    pub fn config(mut self, config: HttpConfig) -> Self {
        self.state.config = Arc::new(config);
        self
    }

    /// Who calls is decided by `authenticator`, for REST and sockets alike.
    pub fn authenticator(self, authenticator: impl Authenticator) -> Self {
        self.shared_authenticator(Arc::new(authenticator))
    }

    /// Like [`ChatRouter::authenticator`], for an authenticator already shared.
    pub fn shared_authenticator(mut self, authenticator: Arc<dyn Authenticator>) -> Self {
        self.state = self.state.with_authenticator(authenticator);
        self
    }

    /// Leaves out the static web client, even if `web_dir` is set.
    pub fn without_web_client(mut self) -> Self {
        self.parts.web_client = false;
        self
    }

    /// Leaves out our account routes (register, login, logout, password), for an app whose
    /// users sign in through the app. Without the `accounts` feature they are never served.
    pub fn without_accounts(mut self) -> Self {
        self.parts.accounts = false;
        self
    }

    /// The state the router's handlers share: its shutdown signal closes the sockets.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The router, ready to nest or merge into a router of any state.
    pub fn build<S>(self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        build(self.state, self.parts)
    }
}

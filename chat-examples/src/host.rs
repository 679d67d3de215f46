//! The host app: its own login (`POST /login`, `POST /logout`) with a session cookie, and
//! chat mounted at `/chat` behind it: `/chat/api/...` and the socket at `/chat/ws/{user_id}`.
//!
//! At login the host maps its user to a chat user by its own id
//! ([`Engine::upsert_external_user`]) and adds them to the lobby, a group it created at start
//! as the system user. Chat's own accounts (register, login) and web client are left out.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use chat_core::memory::MemoryStore;
use chat_core::{Engine, RoomId, ServerSender, TokenKeys};
use chat_http::ChatRouter;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::accounts::Accounts;
use crate::authenticator::{HostAuthenticator, SESSION_COOKIE};
use crate::bot::EchoBot;

/// The app's state: chat's engine, its own accounts, and the lobby room.
#[derive(Clone)]
pub struct Host {
    engine: Engine,
    accounts: Arc<Accounts>,
    lobby: RoomId,
}

impl Host {
    /// The host over `engine` and `accounts`; creates the lobby.
    pub async fn new(engine: Engine, accounts: Accounts) -> chat_core::Result<Host> {
        let lobby = engine
            .create_group_as(ServerSender::System, "Lobby", &[])
            .await?
            .room
            .id;
        Ok(Host {
            engine,
            accounts: Arc::new(accounts),
            lobby,
        })
    }

    /// The engine chat runs on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The room every signed-in user is in.
    pub fn lobby(&self) -> RoomId {
        self.lobby
    }

    /// The whole app: the host's routes, and chat under `/chat`.
    pub fn router(&self) -> Router {
        let chat = ChatRouter::new(self.engine.clone())
            .authenticator(HostAuthenticator::new(
                self.engine.clone(),
                self.accounts.clone(),
            ))
            .without_accounts()
            .without_web_client()
            .build();
        Router::new()
            .route("/", get(home))
            .route("/login", post(login))
            .route("/logout", post(logout))
            .with_state(self.clone())
            .nest("/chat", chat)
            .layer(middleware::from_fn(served_by))
    }
}

/// An engine over the in-memory store with the example's hooks (moderation, the Echo Bot).
pub fn engine() -> Engine {
    Engine::builder(
        Arc::new(MemoryStore::new()),
        TokenKeys::from_secret(b"unused: the host authenticates"),
    )
    .hooks(Arc::new(EchoBot::default()))
    .build()
}

/// The example's users: alice and bob, whose sessions last `session_lifetime`.
pub fn accounts(session_lifetime: Duration) -> Accounts {
    Accounts::new(session_lifetime)
        .with_user("alice", "alice-pw", "Alice")
        .with_user("bob", "bob-pw", "Bob")
}

/// The header the host's own layer puts on every response, chat's included.
pub const SERVED_BY: (&str, &str) = ("x-served-by", "host-example");

/// The host's own middleware, around its routes and chat's alike.
async fn served_by(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let (name, value) = SERVED_BY;
    response
        .headers_mut()
        .insert(name, HeaderValue::from_static(value));
    response
}

/// Body of `POST /login`.
#[derive(Debug, Deserialize)]
struct LoginIn {
    username: String,
    password: String,
}

/// `GET /`: what the app serves.
async fn home() -> &'static str {
    "POST /login {username, password}, then chat at /chat/api/... and /chat/ws/{user_id}\n"
}

/// `POST /login`: the host's own sign-in; makes sure the chat user exists and is in the lobby.
async fn login(
    State(host): State<Host>,
    jar: CookieJar,
    Json(body): Json<LoginIn>,
) -> Result<impl IntoResponse, (StatusCode, Json<Value>)> {
    let Some((id, session)) = host.accounts.login(&body.username, &body.password) else {
        let refused = json!({"detail": "wrong username or password"});
        return Err((StatusCode::UNAUTHORIZED, Json(refused)));
    };
    let unavailable = |error: chat_core::Error| {
        let detail = json!({"detail": error.to_string()});
        (StatusCode::SERVICE_UNAVAILABLE, Json(detail))
    };
    let user = host
        .engine
        .upsert_external_user(&session.username, &session.display_name)
        .await
        .map_err(unavailable)?;
    host.engine
        .add_members_as_server(host.lobby, &[user.id])
        .await
        .map_err(unavailable)?;
    let cookie = Cookie::build((SESSION_COOKIE, id))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .build();
    let body = json!({"user_id": user.id, "name": user.name, "lobby": host.lobby});
    Ok((jar.add(cookie), Json(body)))
}

/// `POST /logout`: ends the host session; chat refuses the cookie from then on.
async fn logout(State(host): State<Host>, jar: CookieJar) -> impl IntoResponse {
    if let Some(cookie) = jar.get(SESSION_COOKIE) {
        host.accounts.logout(cookie.value());
    }
    let cleared = Cookie::build((SESSION_COOKIE, "")).path("/").build();
    (jar.remove(cleared), StatusCode::NO_CONTENT)
}

/// The host app serving on a listener.
pub struct Running {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The app's state.
    pub host: Host,
    stop: CancellationToken,
    serving: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Stops serving and waits for the server, then for the engine's tasks.
    pub async fn shutdown(self) {
        self.stop.cancel();
        let _served = self.serving.await;
        if let Err(error) = self.host.engine.shutdown(Duration::from_secs(5)).await {
            tracing::warn!(%error, "engine shutdown incomplete");
        }
    }
}

/// Serves `host` on `listener` with axum's own server, until [`Running::shutdown`].
pub fn serve(host: Host, listener: TcpListener) -> std::io::Result<Running> {
    let addr = listener.local_addr()?;
    let stop = CancellationToken::new();
    let app = host
        .router()
        .into_make_service_with_connect_info::<SocketAddr>();
    let stopped = stop.clone().cancelled_owned();
    let serving = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(stopped)
            .await
    });
    Ok(Running {
        addr,
        host,
        stop,
        serving,
    })
}

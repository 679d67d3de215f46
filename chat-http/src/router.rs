//! The route table and the tower layers around it.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware;
use axum::routing::any;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::json_errors::{api_not_found, json_errors};
use crate::metrics::track_requests;
use crate::origin::guard_cookie_writes;
use crate::redact::request_span;
use crate::route_table::{Route, Routes};
#[cfg(feature = "accounts")]
use crate::routes::accounts;
use crate::routes::{
    files, groups, health, messages, openapi, reactions, reads, rooms, search, server_api, users,
};
use crate::state::AppState;
use crate::ws;

/// Our own accounts' routes (the `accounts` feature), under the `/api` layers.
#[cfg(feature = "accounts")]
pub fn account_routes() -> Routes {
    Routes::new()
        .post("/api/register", accounts::register)
        .post("/api/login", accounts::login)
        .post("/api/logout", accounts::logout)
        .post("/api/me/password", accounts::change_password)
}

/// The REST routes (and probes) besides [`account_routes`], under the `/api` layers: body
/// limit, timeout, origin check. Describe each new route in `chat-http/openapi.json`;
/// `tests/openapi.rs` names any missing.
pub fn rest_routes() -> Routes {
    Routes::new()
        .get("/api/me", users::me)
        .get("/api/all-users", users::all_users)
        .get("/api/chats", rooms::list)
        .post("/api/chats", rooms::open)
        .post("/api/chats/create-room", rooms::open)
        .get("/api/messages/{room_id}", messages::history)
        .post("/api/messages/{room_id}", messages::send)
        .patch("/api/messages/{room_id}/{message_id}", messages::edit)
        .delete("/api/messages/{room_id}/{message_id}", messages::delete)
        .put(
            "/api/messages/{room_id}/{message_id}/reactions/{emoji}",
            reactions::add,
        )
        .delete(
            "/api/messages/{room_id}/{message_id}/reactions/{emoji}",
            reactions::remove,
        )
        .post("/api/rooms/{room_id}/read", reads::mark)
        .get("/api/rooms/{room_id}/reads", reads::list)
        .get("/api/rooms/{room_id}/changes", reads::changes)
        .get("/api/search", search::search)
        .post("/api/rooms", groups::create)
        .get("/api/rooms/{room_id}", groups::show)
        .patch("/api/rooms/{room_id}", groups::rename)
        .get("/api/rooms/{room_id}/members", groups::members)
        .post("/api/rooms/{room_id}/members", groups::add)
        .delete("/api/rooms/{room_id}/members/{user_id}", groups::remove)
        .put(
            "/api/rooms/{room_id}/members/{user_id}/role",
            groups::set_role,
        )
        .get("/api/files/{file_id}", files::download)
        .get("/api/files/{file_id}/thumb", files::thumbnail)
        .get("/api/openapi.json", openapi::document)
        .get("/healthz", health::healthz)
        .get("/readyz", health::readyz)
        .merge(server_api::routes())
}

/// The socket upgrades, outside the request timeout and body limit.
pub fn socket_routes() -> Routes {
    Routes::new()
        .get("/ws/{user_id}", ws::upgrade)
        .get("/api/ws/{user_id}", ws::upgrade)
}

/// File uploads, with a body limit and a timeout of their own (see `uploads`).
pub fn upload_routes() -> Routes {
    Routes::new().post("/api/rooms/{room_id}/files", files::upload)
}

/// Every route the bundled server serves: [`account_routes`] (with the `accounts` feature),
/// [`rest_routes`], [`upload_routes`], [`socket_routes`] and `GET /metrics`.
pub fn served_routes() -> Vec<Route> {
    let mut served = rest_routes().served().to_vec();
    #[cfg(feature = "accounts")]
    served.extend_from_slice(account_routes().served());
    served.extend_from_slice(upload_routes().served());
    served.extend_from_slice(socket_routes().served());
    served.push(crate::metrics::scrape_route());
    served
}

/// Every route of the server, with tracing (tokens redacted), CORS, the origin check of
/// cookie-authenticated writes, body and header limits, timeouts, JSON errors under `/api`,
/// and request counts by route template and status.
pub fn router(state: AppState) -> Router {
    build(state, Parts::all())
}

/// Which optional parts a router serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parts {
    /// Our account routes (register, login, logout, password).
    pub accounts: bool,
    /// The static web client at `/` (when `web_dir` is set).
    pub web_client: bool,
}

impl Parts {
    pub(crate) fn all() -> Self {
        Parts {
            accounts: true,
            web_client: true,
        }
    }
}

/// The router of [`router`], serving the optional `parts` asked for; generic over the state
/// of whatever router it is nested in.
pub(crate) fn build<S>(state: AppState, parts: Parts) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let rest = rest_routes();
    #[cfg(feature = "accounts")]
    let rest = match parts.accounts {
        true => rest.merge(account_routes()),
        false => rest,
    };
    let api = rest
        .into_router()
        .route("/api", any(api_not_found))
        .route("/api/{*rest}", any(api_not_found))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard_cookie_writes,
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            state.config.request_timeout,
        ))
        .layer(RequestBodyLimitLayer::new(state.config.max_body_bytes));
    let mut app = uploads(&state)
        .merge(api)
        .merge(socket_routes().into_router());
    if let Some(dir) = state.config.web_dir.as_ref().filter(|_| parts.web_client) {
        let index = dir.join("index.html");
        app = app.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)));
    }
    app.layer(middleware::from_fn(track_requests))
        .layer(middleware::from_fn(json_errors))
        .layer(cors(&state))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
}

/// Multipart allowance beyond the file itself: part headers, boundaries, other small parts.
const MULTIPART_OVERHEAD: u64 = 1024 * 1024;

/// The upload route, with a body limit of its own: the engine refuses the file itself past
/// `max_file_bytes` while it streams; this stops bodies far larger before they are read.
fn uploads(state: &AppState) -> Router<AppState> {
    let limit = state
        .engine
        .config()
        .max_file_bytes
        .saturating_add(MULTIPART_OVERHEAD);
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    upload_routes()
        .into_router()
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard_cookie_writes,
        ))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            state.config.file_timeout,
        ))
        .layer(DefaultBodyLimit::max(limit))
        .layer(RequestBodyLimitLayer::new(limit))
}

fn cors(state: &AppState) -> CorsLayer {
    let origins: Vec<HeaderValue> = state
        .config
        .allowed_origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_credentials(true)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("authtoken"),
        ])
}

//! The route table and the tower layers around it.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::middleware;
use axum::routing::{any, delete, get, patch, post, put};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::json_errors::{api_not_found, json_errors};
use crate::origin::guard_cookie_writes;
use crate::redact::request_span;
use crate::routes::{accounts, groups, health, messages, reactions, reads, rooms};
use crate::state::AppState;
use crate::ws;

/// Every route of the server, with tracing (tokens redacted), CORS, the origin check of
/// cookie-authenticated writes, body and header limits, timeouts and JSON errors under `/api`.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/api/register", post(accounts::register))
        .route("/api/login", post(accounts::login))
        .route("/api/logout", post(accounts::logout))
        .route("/api/me", get(accounts::me))
        .route("/api/me/password", post(accounts::change_password))
        .route("/api/all-users", get(accounts::all_users))
        .route("/api/chats", get(rooms::list).post(rooms::open))
        .route("/api/chats/create-room", post(rooms::open))
        .route(
            "/api/messages/{room_id}",
            get(messages::history).post(messages::send),
        )
        .route(
            "/api/messages/{room_id}/{message_id}",
            patch(messages::edit).delete(messages::delete),
        )
        .route(
            "/api/messages/{room_id}/{message_id}/reactions/{emoji}",
            put(reactions::add).delete(reactions::remove),
        )
        .route("/api/rooms/{room_id}/read", post(reads::mark))
        .route("/api/rooms/{room_id}/reads", get(reads::list))
        .route("/api/rooms/{room_id}/changes", get(reads::changes))
        .route("/api/rooms", post(groups::create))
        .route(
            "/api/rooms/{room_id}",
            get(groups::show).patch(groups::rename),
        )
        .route(
            "/api/rooms/{room_id}/members",
            get(groups::members).post(groups::add),
        )
        .route(
            "/api/rooms/{room_id}/members/{user_id}",
            delete(groups::remove),
        )
        .route(
            "/api/rooms/{room_id}/members/{user_id}/role",
            put(groups::set_role),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
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
    let sockets = Router::new()
        .route("/ws/{user_id}", get(ws::upgrade))
        .route("/api/ws/{user_id}", get(ws::upgrade));
    let mut app = api.merge(sockets);
    if let Some(dir) = &state.config.web_dir {
        let index = dir.join("index.html");
        app = app.fallback_service(ServeDir::new(dir).fallback(ServeFile::new(index)));
    }
    app.layer(middleware::from_fn(json_errors))
        .layer(cors(&state))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .with_state(state)
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

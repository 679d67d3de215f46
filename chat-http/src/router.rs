//! The route table and the tower layers around it.

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::routing::{get, post};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::routes::{accounts, health, messages, rooms};
use crate::state::AppState;
use crate::ws;

/// Every route of the server, with tracing, CORS, body limits and timeouts.
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
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
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
    app.layer(cors(&state))
        .layer(TraceLayer::new_for_http())
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
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            HeaderName::from_static("authtoken"),
        ])
}

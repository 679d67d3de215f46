//! Liveness and readiness probes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::state::AppState;

/// `GET /healthz`: the process is up.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /readyz`: 200 when the store answers; reports the bus too (a node without its bus
/// still serves its local users, so the bus alone does not make it unready).
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let readiness = state.engine.readiness().await;
    let status = if readiness.store {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "status": if readiness.store && readiness.bus { "ready" } else if readiness.store { "degraded" } else { "unavailable" },
        "store": readiness.store,
        "bus": readiness.bus,
    });
    (status, Json(body))
}

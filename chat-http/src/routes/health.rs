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

/// `GET /readyz`: 200 when the store answers reads and takes writes (a rate-limited write
/// probe), else 503; the body names each check and lists the failing ones. The bus is
/// reported too, but a node without its bus still serves its local users, so it only makes
/// the node "degraded".
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let readiness = state.engine.readiness().await;
    let checks = [
        ("store_read", readiness.store),
        ("store_write", readiness.store_writes),
        ("bus", readiness.bus),
    ];
    let failing: Vec<&str> = checks
        .iter()
        .filter(|(_, ok)| !ok)
        .map(|(name, _)| *name)
        .collect();
    let (status, word) = match (readiness.is_ready(), readiness.bus) {
        (true, true) => (StatusCode::OK, "ready"),
        (true, false) => (StatusCode::OK, "degraded"),
        (false, _) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
    };
    let body = json!({
        "status": word,
        "store": readiness.is_ready(),
        "bus": readiness.bus,
        "checks": checks
            .into_iter()
            .map(|(name, ok)| (name.to_owned(), Value::Bool(ok)))
            .collect::<serde_json::Map<_, _>>(),
        "failing": failing,
    });
    (status, Json(body))
}

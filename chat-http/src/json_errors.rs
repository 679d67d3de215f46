//! Every error under `/api` is JSON: `{"detail","code"}`, whichever layer produced it.
//!
//! Handlers already answer with [`ApiError`]; this catches what the layers around them answer
//! with their own bodies (405 from the method router, 413 from the body limit, 503 from the
//! timeout, 404 without a web client), and refuses oversized headers with a JSON 431 before
//! hyper's own, bodiless one would.

use axum::extract::Request;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// Most request headers accepted.
pub const MAX_HEADERS: usize = 100;

/// Most bytes of request headers (names and values) accepted.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Middleware: refuses oversized headers with 431, and gives error responses under `/api`
/// that are not JSON yet the JSON error shape, keeping their status and headers (`Allow`).
pub async fn json_errors(request: Request, next: Next) -> Response {
    if headers_too_large(request.headers()) {
        return ApiError::Http(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE).into_response();
    }
    let path = request.uri().path();
    let api = path == "/api" || path.starts_with("/api/");
    let response = next.run(request).await;
    let status = response.status();
    if !api || !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (mut parts, _plain_body) = response.into_parts();
    parts.headers.remove(CONTENT_TYPE);
    parts.headers.remove(CONTENT_LENGTH);
    let mut json = ApiError::Http(status).into_response();
    let mut name = None;
    for (next_name, value) in parts.headers {
        if next_name.is_some() {
            name = next_name;
        }
        if let Some(name) = &name {
            json.headers_mut().append(name.clone(), value);
        }
    }
    json
}

/// `/api/...` paths no route serves: a JSON 404 rather than the web client's page.
pub async fn api_not_found() -> ApiError {
    ApiError::Http(StatusCode::NOT_FOUND)
}

fn headers_too_large(headers: &HeaderMap) -> bool {
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    headers.len() > MAX_HEADERS || bytes > MAX_HEADER_BYTES
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

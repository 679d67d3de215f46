//! The API description: the OpenAPI 3.1 document of every REST route, kept by hand in
//! `chat-http/openapi.json` beside the code and embedded in the binary. The test
//! `tests/openapi.rs` fails when a served route has no description (or a description no
//! route), and when an example does not validate against its schema.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, as served.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

/// `GET /api/openapi.json`: the OpenAPI 3.1 description of this API.
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

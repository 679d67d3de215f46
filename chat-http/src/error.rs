//! The HTTP edge's error type: the only place that knows status codes.

use std::borrow::Cow;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// An engine error, mapped by kind.
    #[error(transparent)]
    Core(#[from] chat_core::Error),
    /// The body was not JSON at all.
    #[error("malformed JSON body: {0}")]
    MalformedJson(String),
    /// The body was JSON but not of the expected shape (missing field, wrong type).
    #[error("invalid request body: {0}")]
    InvalidBody(String),
    /// The query string did not parse.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A failure of the HTTP layer itself: no such route, wrong method, a body or headers too
    /// large, a request that took too long.
    #[error("{}", .0.canonical_reason().unwrap_or("request failed").to_lowercase())]
    Http(StatusCode),
}

/// The JSON body of every error response and socket error event.
#[derive(Debug, Serialize)]
pub struct ErrorBody<'a> {
    /// A human-readable explanation, safe to show.
    pub detail: String,
    /// A stable machine-readable code.
    pub code: &'a str,
}

impl ApiError {
    /// The status code and the client-facing code.
    pub fn status_and_code(&self) -> (StatusCode, &'static str) {
        use chat_core::Error as E;
        match self {
            ApiError::Core(error) => {
                let status = match error {
                    E::NotFound(_) => StatusCode::NOT_FOUND,
                    E::Conflict(_) => StatusCode::CONFLICT,
                    E::Forbidden(_) | E::Rejected { .. } => StatusCode::FORBIDDEN,
                    E::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
                    E::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
                    E::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
                    E::RateLimited(_) | E::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                    _ => StatusCode::SERVICE_UNAVAILABLE,
                };
                (status, error.code())
            }
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::InvalidBody(_) | ApiError::InvalidQuery(_) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid")
            }
            ApiError::Http(status) => (*status, http_code(*status)),
        }
    }

    /// The code the client sees: the kind's, or the host's own for a hook's rejection.
    pub fn client_code(&self) -> Cow<'static, str> {
        match self {
            ApiError::Core(chat_core::Error::Rejected { code, .. }) => code.clone(),
            other => Cow::Borrowed(other.status_and_code().1),
        }
    }

    /// What the client is told: the message, except for backend failures whose details stay
    /// in the logs.
    pub fn detail(&self) -> String {
        match self {
            ApiError::Core(chat_core::Error::Unavailable { what, .. }) => {
                format!("{what} is unavailable; try again")
            }
            other => other.to_string(),
        }
    }
}

/// The client-facing code of a status the HTTP layer produced by itself.
fn http_code(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => "timeout",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        status if status.is_server_error() => "internal",
        _ => "bad_request",
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::Http(StatusCode::PAYLOAD_TOO_LARGE);
        }
        match rejection {
            JsonRejection::JsonDataError(err) => ApiError::InvalidBody(err.body_text()),
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::MalformedJson("expected Content-Type: application/json".into())
            }
            other => ApiError::MalformedJson(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::InvalidQuery(rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.status_and_code();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let code = self.client_code();
        let body = ErrorBody {
            detail: self.detail(),
            code: &code,
        };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::Core(error) = &self
            && let Some(wait) = error.retry_after()
        {
            // Whole seconds, rounded up: a client that waits that long is let through.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.max(1).into());
        }
        response
    }
}

/// Handler result.
pub type ApiResult<T> = Result<T, ApiError>;

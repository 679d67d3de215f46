//! Request extractors whose rejections are JSON errors like every other failure.

use axum::extract::FromRequest;
use axum::extract::FromRequestParts;

use crate::error::ApiError;

/// A JSON body; malformed JSON is 400, a wrong shape 422, both with a JSON error body.
#[derive(Debug, FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// A query string; a malformed one is 422 with a JSON error body.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

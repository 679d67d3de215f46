//! Files: uploads into a room, downloads and thumbnails for the room's members.
//!
//! Downloads are served so that a file can never act as a page of this origin: the content
//! type is the one sniffed at upload, `nosniff` stops browsers from guessing another, only
//! raster images are `inline` (everything else is an `attachment`), and a sandboxing CSP
//! covers the rest.

use std::io;

use axum::Json;
use axum::body::Body;
use axum::extract::multipart::{Multipart, MultipartError, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chat_core::blob::Blob;
use chat_core::files::FileRecord;
use chat_core::files::thumb::thumb_type;
use futures_util::StreamExt;
use tokio_util::io::{ReaderStream, StreamReader};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::ranges::{Requested, requested};
use crate::state::AppState;
use crate::wire::{FileOut, parse_file, parse_room};

/// The multipart part that carries the file.
const FILE_PART: &str = "file";
/// Files do not change once stored; browsers may keep them (privately) for a day.
const CACHE: &str = "private, max-age=86400, immutable";
/// How much of a file one body frame carries (the reader's default, 4 KiB, costs a frame per
/// page).
const STREAM_CHUNK: usize = 64 * 1024;
/// Nothing in a served file may run or load anything.
const SANDBOX: &str = "default-src 'none'; sandbox";

/// `POST /api/rooms/{room_id}/files`: `multipart/form-data` with the file in the part `file`
/// (its filename from the part); members only. Streams the file to storage, refusing it with
/// 413 once it passes `--max-file-bytes`. 201 `{"file_id","name","size","content_type",
/// "width"?,"height"?}`, unattached until a message lists it.
pub async fn upload(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(room): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> ApiResult<Response> {
    let room = parse_room(&room)?;
    let mut multipart = multipart.map_err(|rejection| ApiError::Http(rejection.status()))?;
    while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some(FILE_PART) {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_owned();
        let mut body =
            StreamReader::new(Box::pin(field.map(|chunk| chunk.map_err(io::Error::other))));
        let file = state.engine.upload(&user, room, &name, &mut body).await?;
        return Ok((StatusCode::CREATED, Json(FileOut::of_record(&file))).into_response());
    }
    Err(ApiError::InvalidBody(format!(
        "no part named {FILE_PART:?}"
    )))
}

fn multipart_error(error: MultipartError) -> ApiError {
    match error.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::Http(StatusCode::PAYLOAD_TOO_LARGE),
        _ => ApiError::InvalidBody(error.body_text()),
    }
}

/// `GET /api/files/{file_id}`: the file's bytes, for members of its room (403 for others);
/// a single `Range` gets 206 with `Content-Range`, one past the end 416.
pub async fn download(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let file = state.engine.file(&user, parse_file(&file)?).await?;
    let range = headers
        .get(header::RANGE)
        .and_then(|value| value.to_str().ok());
    let (status, range) = match requested(range, file.size) {
        Requested::Whole => (StatusCode::OK, None),
        Requested::Part(range) => (StatusCode::PARTIAL_CONTENT, Some(range)),
        Requested::Unsatisfiable => return Ok(unsatisfiable(file.size)),
    };
    let blob = state.engine.file_body(&file, range.clone()).await?;
    let length = range
        .as_ref()
        .map_or(file.size, |range| range.end - range.start);
    let mut response = stream(status, blob, length, &file.content_type);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_DISPOSITION, disposition(&file));
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Some(range) = range {
        let content_range = format!("bytes {}-{}/{}", range.start, range.end - 1, file.size);
        if let Ok(value) = HeaderValue::from_str(&content_range) {
            headers.insert(header::CONTENT_RANGE, value);
        }
    }
    Ok(response)
}

/// `GET /api/files/{file_id}/thumb`: a small version of an image (at most 320 px a side),
/// made on the first request and kept; 404 for files that are not images.
pub async fn thumbnail(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(file): Path<String>,
) -> ApiResult<Response> {
    let file = state.engine.file(&user, parse_file(&file)?).await?;
    let thumb = state.engine.thumbnail(&file).await?;
    let size = thumb.size;
    let mut response = stream(StatusCode::OK, thumb, size, thumb_type(&file.content_type));
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    Ok(response)
}

/// A streamed body with the headers every served file has.
fn stream(status: StatusCode, blob: Blob, length: u64, content_type: &str) -> Response {
    let body = ReaderStream::with_capacity(blob.body, STREAM_CHUNK);
    let mut response = Response::new(Body::from_stream(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(content_type)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SANDBOX),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE));
    response
}

/// 416 with the size the client should have asked within.
fn unsatisfiable(size: u64) -> Response {
    let body = ErrorBody {
        detail: "the range is outside the file".into(),
        code: "range_not_satisfiable",
    };
    let mut response = (StatusCode::RANGE_NOT_SATISFIABLE, Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("bytes */{size}")) {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    response
}

/// `inline` for raster images, `attachment` for everything else, with the name both as a
/// plain ASCII fallback and as UTF-8 (RFC 6266).
fn disposition(file: &FileRecord) -> HeaderValue {
    let kind = if file.is_inline_image() {
        "inline"
    } else {
        "attachment"
    };
    let ascii: String = file
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in file.name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or(HeaderValue::from_static("attachment"))
}

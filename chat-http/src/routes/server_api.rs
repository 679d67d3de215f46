//! The operators' server API: the host's own backend sends messages as the system user or
//! a bot, creates groups, adds members and maps its users, with an API key instead of a
//! user's token (the way apps publish through Centrifugo's server API).
//!
//! Every route needs the key from `--server-api-key` (`CHAT_SERVER_API_KEY`) in
//! `Authorization: Bearer <key>` or `X-Api-Key: <key>`; a missing or wrong key is 401. With no
//! key configured the routes answer 404, as if they did not exist. Sends keep every promise of
//! a user's send (durable before delivery, seq order, idempotent by `client_id`); see
//! `chat_core::engine`'s server sends.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chat_core::model::Message;
use chat_core::{ServerSender, UserId};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::route_table::Routes;
use crate::state::AppState;
use crate::wire::{MessageOut, UserOut, parse_room};

/// The API key of the server API. Its `Debug` never shows the key, so no log line can.
#[derive(Clone)]
pub struct ServerApiKey(String);

impl ServerApiKey {
    /// A key; an empty one is no key (`None`), so an empty variable disables the API.
    pub fn new(key: impl Into<String>) -> Option<ServerApiKey> {
        let key = key.into();
        (!key.is_empty()).then_some(ServerApiKey(key))
    }

    /// Whether `given` is the key, in time independent of where they differ.
    fn matches(&self, given: &str) -> bool {
        let (key, given) = (self.0.as_bytes(), given.as_bytes());
        key.len() == given.len()
            && key
                .iter()
                .zip(given)
                .fold(0u8, |differs, (a, b)| differs | (a ^ b))
                == 0
    }
}

impl std::fmt::Debug for ServerApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerApiKey(<redacted>)")
    }
}

/// The server API's routes, for the router to serve.
pub fn routes() -> Routes {
    Routes::new()
        .post("/api/server/messages", send)
        .post("/api/server/rooms", create_room)
        .post("/api/server/rooms/{room_id}/members", add_members)
        .post("/api/server/users", upsert_user)
}

/// Proof that the request carries the server API key.
pub struct ServerKey;

impl FromRequestParts<AppState> for ServerKey {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(key) = &state.config.server_api_key else {
            return Err(ApiError::Http(StatusCode::NOT_FOUND));
        };
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
        };
        let given = header("x-api-key")
            .or_else(|| header("authorization").and_then(|value| value.strip_prefix("Bearer ")));
        match given {
            Some(given) if key.matches(given.trim()) => Ok(ServerKey),
            _ => Err(chat_core::Error::Unauthenticated(
                "a valid server API key is required".into(),
            )
            .into()),
        }
    }
}

/// `sender_id` of a body: a user id, or absent (or `"system"`) for the system user.
fn sender(sender_id: Option<&str>) -> Result<ServerSender, chat_core::Error> {
    match sender_id {
        None | Some("system") => Ok(ServerSender::System),
        Some(id) => id
            .parse()
            .map(ServerSender::User)
            .map_err(|_| chat_core::Error::NotFound("user not found".into())),
    }
}

fn users(ids: &[String]) -> Result<Vec<UserId>, chat_core::Error> {
    ids.iter()
        .map(|id| {
            id.parse()
                .map_err(|_| chat_core::Error::NotFound("user not found".into()))
        })
        .collect()
}

/// Body of `POST /api/server/messages`.
#[derive(Debug, Deserialize)]
pub struct SendIn {
    room_id: String,
    #[serde(default)]
    sender_id: Option<String>,
    text: String,
    #[serde(default)]
    client_id: Option<String>,
}

/// `POST /api/server/messages` `{"room_id","sender_id"?,"text","client_id"?}`: stores the
/// message from `sender_id` (a bot; the system user when absent) in any room and delivers
/// it; 200 with the message, the original one for a resend with the same `client_id`.
pub async fn send(
    _key: ServerKey,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<SendIn>,
) -> ApiResult<Response> {
    let room = parse_room(&body.room_id)?;
    let message = state
        .engine
        .send_as(
            sender(body.sender_id.as_deref())?,
            room,
            &body.text,
            body.client_id.as_deref(),
        )
        .await?;
    Ok(Json(MessageOut::new(&message)).into_response())
}

/// Body of `POST /api/server/rooms`.
#[derive(Debug, Deserialize)]
pub struct CreateRoomIn {
    name: String,
    #[serde(default)]
    owner_id: Option<String>,
    #[serde(default)]
    member_ids: Vec<String>,
}

/// A group after a server change, with the timeline entries the change recorded.
#[derive(Serialize)]
struct RoomChangeOut<'a> {
    room_id: String,
    entries: Vec<MessageOut<'a>>,
}

impl<'a> RoomChangeOut<'a> {
    fn new(room: chat_core::RoomId, entries: &'a [Message]) -> Self {
        RoomChangeOut {
            room_id: room.to_string(),
            entries: entries.iter().map(MessageOut::new).collect(),
        }
    }
}

/// `POST /api/server/rooms` `{"name","owner_id"?,"member_ids"?}`: a group owned by
/// `owner_id` (the system user when absent); 201 with its id and `created` entry.
pub async fn create_room(
    _key: ServerKey,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<CreateRoomIn>,
) -> ApiResult<Response> {
    let owner = sender(body.owner_id.as_deref())?;
    let members = users(&body.member_ids)?;
    let update = state
        .engine
        .create_group_as(owner, &body.name, &members)
        .await?;
    let out = RoomChangeOut::new(update.room.id, &update.entries);
    Ok((StatusCode::CREATED, Json(out)).into_response())
}

/// Body of `POST /api/server/rooms/{room_id}/members`.
#[derive(Debug, Deserialize)]
pub struct AddMembersIn {
    user_ids: Vec<String>,
}

/// `POST /api/server/rooms/{room_id}/members` `{"user_ids"}`: adds members to a group
/// whoever owns it (members already in it are skipped); 200 with the `added` entries.
pub async fn add_members(
    _key: ServerKey,
    State(state): State<AppState>,
    Path(room): Path<String>,
    ApiJson(body): ApiJson<AddMembersIn>,
) -> ApiResult<Response> {
    let room = parse_room(&room)?;
    let update = state
        .engine
        .add_members_as_server(room, &users(&body.user_ids)?)
        .await?;
    Ok(Json(RoomChangeOut::new(room, &update.entries)).into_response())
}

/// Body of `POST /api/server/users`.
#[derive(Debug, Deserialize)]
pub struct UpsertUserIn {
    external_id: String,
    name: String,
}

/// `POST /api/server/users` `{"external_id","name"}`: the user the host knows by its own id,
/// created on first call and renamed on later ones; 200 with the user.
pub async fn upsert_user(
    _key: ServerKey,
    State(state): State<AppState>,
    ApiJson(body): ApiJson<UpsertUserIn>,
) -> ApiResult<Response> {
    let user = state
        .engine
        .upsert_external_user(&body.external_id, &body.name)
        .await?;
    Ok(Json(UserOut::new(user, None)).into_response())
}

//! Group rooms: creating them, reading them and their members, and changing members, names
//! and roles. The engine enforces the role rules; these handlers only translate.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chat_core::UserId;
use chat_core::membership::{GroupMember, GroupView, Role};
use serde::{Deserialize, Serialize};

use crate::auth::AuthUser;
use crate::error::ApiResult;
use crate::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::wire::{parse_room, time};

/// Members per page by default, and at most.
const DEFAULT_MEMBERS: usize = 100;
const MAX_MEMBERS: usize = 1_000;

/// Body of `POST /api/rooms`.
#[derive(Debug, Deserialize)]
pub struct CreateIn {
    name: String,
    #[serde(default)]
    member_ids: Vec<String>,
}

/// Body of `POST /api/rooms/{room_id}/members`.
#[derive(Debug, Deserialize)]
pub struct AddIn {
    user_ids: Vec<String>,
}

/// Body of `PATCH /api/rooms/{room_id}`.
#[derive(Debug, Deserialize)]
pub struct RenameIn {
    name: String,
}

/// Body of `PUT /api/rooms/{room_id}/members/{user_id}/role`.
#[derive(Debug, Deserialize)]
pub struct RoleIn {
    role: Role,
}

/// Query of `GET /api/rooms/{room_id}/members`.
#[derive(Debug, Deserialize)]
pub struct MembersQuery {
    limit: Option<usize>,
    after: Option<String>,
}

/// A member as the API shows it.
#[derive(Debug, Serialize)]
struct MemberOut {
    user_id: UserId,
    name: String,
    role: Role,
    joined_at: String,
}

impl MemberOut {
    fn new(member: GroupMember) -> Self {
        MemberOut {
            user_id: member.member.user_id,
            name: member.user.name,
            role: member.member.role,
            joined_at: time(&member.member.joined_at),
        }
    }
}

/// A group room as the API shows it, with its first members.
#[derive(Debug, Serialize)]
struct GroupOut {
    #[serde(rename = "_id")]
    id: String,
    kind: &'static str,
    name: String,
    created_at: String,
    created_by: Option<UserId>,
    member_count: usize,
    members: Vec<MemberOut>,
}

impl GroupOut {
    fn new(view: GroupView) -> Self {
        let group = view.room.group;
        GroupOut {
            id: view.room.id.to_string(),
            kind: "group",
            name: group.as_ref().map(|g| g.name.clone()).unwrap_or_default(),
            created_at: time(&view.room.created_at),
            created_by: group.map(|g| g.created_by),
            member_count: view.member_count,
            members: view.members.into_iter().map(MemberOut::new).collect(),
        }
    }
}

/// Unknown or malformed user ids are `NotFound`, like unknown users.
fn parse_users(ids: &[String]) -> Result<Vec<UserId>, chat_core::Error> {
    ids.iter().map(|id| parse_user(id)).collect()
}

fn parse_user(id: &str) -> Result<UserId, chat_core::Error> {
    id.parse()
        .map_err(|_| chat_core::Error::NotFound("user not found".into()))
}

/// `POST /api/rooms` `{"name","member_ids"}`: a new group owned by the caller; 201 with it.
pub async fn create(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    ApiJson(body): ApiJson<CreateIn>,
) -> ApiResult<Response> {
    let members = parse_users(&body.member_ids)?;
    let update = state
        .engine
        .create_group(user.id, &body.name, &members)
        .await?;
    let view = state.engine.group(user.id, update.room.id).await?;
    Ok((StatusCode::CREATED, Json(GroupOut::new(view))).into_response())
}

/// `GET /api/rooms/{room_id}`: the group with its first 100 members; members only.
pub async fn show(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(room): Path<String>,
) -> ApiResult<Response> {
    let view = state.engine.group(user.id, parse_room(&room)?).await?;
    Ok(Json(GroupOut::new(view)).into_response())
}

/// `GET /api/rooms/{room_id}/members?limit=&after=`: members by user id after `after`.
pub async fn members(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(room): Path<String>,
    ApiQuery(query): ApiQuery<MembersQuery>,
) -> ApiResult<Response> {
    let after = match query.after.as_deref().filter(|after| !after.is_empty()) {
        None => None,
        Some(after) => Some(
            after
                .parse::<UserId>()
                .map_err(|_| chat_core::Error::Invalid("after must be a user id".into()))?,
        ),
    };
    let limit = query.limit.unwrap_or(DEFAULT_MEMBERS).clamp(1, MAX_MEMBERS);
    let page = state
        .engine
        .group_members(user.id, parse_room(&room)?, after, limit)
        .await?;
    let out: Vec<MemberOut> = page.into_iter().map(MemberOut::new).collect();
    Ok(Json(out).into_response())
}

/// `POST /api/rooms/{room_id}/members` `{"user_ids"}`: adds members (owners and admins).
pub async fn add(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(room): Path<String>,
    ApiJson(body): ApiJson<AddIn>,
) -> ApiResult<Response> {
    let room = parse_room(&room)?;
    let users = parse_users(&body.user_ids)?;
    state.engine.add_members(user.id, room, &users).await?;
    let view = state.engine.group(user.id, room).await?;
    Ok(Json(GroupOut::new(view)).into_response())
}

/// `DELETE /api/rooms/{room_id}/members/{user_id}`: leaving (yourself) or removing (owners
/// and admins); 204.
pub async fn remove(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((room, member)): Path<(String, String)>,
) -> ApiResult<Response> {
    let room = parse_room(&room)?;
    let member = parse_user(&member)?;
    state.engine.remove_member(user.id, room, member).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PATCH /api/rooms/{room_id}` `{"name"}`: renames the group (owners and admins).
pub async fn rename(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(room): Path<String>,
    ApiJson(body): ApiJson<RenameIn>,
) -> ApiResult<Response> {
    let room = parse_room(&room)?;
    state.engine.rename_group(user.id, room, &body.name).await?;
    let view = state.engine.group(user.id, room).await?;
    Ok(Json(GroupOut::new(view)).into_response())
}

/// `PUT /api/rooms/{room_id}/members/{user_id}/role` `{"role":"admin"|"member"}` (owners).
pub async fn set_role(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path((room, member)): Path<(String, String)>,
    ApiJson(body): ApiJson<RoleIn>,
) -> ApiResult<Response> {
    let room = parse_room(&room)?;
    let member = parse_user(&member)?;
    state
        .engine
        .set_role(user.id, room, member, body.role)
        .await?;
    let view = state.engine.group(user.id, room).await?;
    Ok(Json(GroupOut::new(view)).into_response())
}

//! The domain records: users, rooms and messages as the engine and the stores see them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::files::Attachment;
use crate::id::{MessageId, RoomId, UserId};
use crate::membership::{GroupInfo, RoomEvent};

/// Instants are kept to the millisecond so every store round-trips them exactly.
pub type Timestamp = DateTime<Utc>;

/// The current time at the precision stores keep.
pub fn now() -> Timestamp {
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// A registered user as everyone may see it; the password hash never leaves the store layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable identity.
    pub id: UserId,
    /// Normalized (trimmed, lowercase) so that lookups are case-insensitive.
    pub email: String,
    /// Display name shown to other users.
    pub name: String,
    /// When the account was registered.
    pub created_at: Timestamp,
}

/// What a store needs to create a user; the engine has already validated and hashed.
#[derive(Debug, Clone)]
pub struct NewUser {
    /// Chosen by the engine so callers can refer to the user before the store answers.
    pub id: UserId,
    /// Already normalized.
    pub email: String,
    /// Already validated.
    pub name: String,
    /// An argon2 PHC string.
    pub password_hash: String,
    /// Registration time.
    pub created_at: Timestamp,
}

/// What has been revoked of a user's sessions: tokens of an older generation, and single
/// sessions (logouts) that have not expired yet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revocations {
    /// Tokens issued under a smaller generation are revoked (password change, operator).
    pub generation: u64,
    /// Sessions revoked one by one, until their tokens would have expired anyway.
    pub sessions: Vec<crate::id::SessionId>,
}

/// A user together with the stored password hash, only for checking a login.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The account.
    pub user: User,
    /// The argon2 PHC string to verify against.
    pub password_hash: String,
    /// Only an active account may log in.
    pub status: AccountStatus,
}

/// Whether an account may be used, as operators set it (`chat user disable|enable|delete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    /// Logs in and chats.
    #[default]
    Active,
    /// Cannot log in; the account and its data stay, and enabling it restores it.
    Disabled,
    /// Erased: no email, name or password any more, and it can never log in again. The id
    /// stays so that its timeline entries keep a sender.
    Deleted,
}

impl AccountStatus {
    /// The stored spelling, the same in every backend.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Disabled => "disabled",
            AccountStatus::Deleted => "deleted",
        }
    }

    /// The status a stored spelling names; anything unknown is `None`.
    pub fn parse(text: &str) -> Option<AccountStatus> {
        match text {
            "active" => Some(AccountStatus::Active),
            "disabled" => Some(AccountStatus::Disabled),
            "deleted" => Some(AccountStatus::Deleted),
            _ => None,
        }
    }
}

/// A user as operators see it: the public record and whether it may be used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    /// The public record (a deleted account's shows only placeholders).
    #[serde(flatten)]
    pub user: User,
    /// Active, disabled or deleted.
    pub status: AccountStatus,
}

/// The name every timeline entry of a deleted account shows, and the account itself.
pub const DELETED_USER_NAME: &str = "deleted user";

/// The email a deleted account is left with: unique per id, in the reserved `.invalid`
/// domain so it can never be registered or typed at login, and frees the real address.
pub fn deleted_email(user: crate::id::UserId) -> String {
    format!("deleted-{user}@deleted.invalid")
}

/// The email of a user the host owns ([`crate::users`]): unique per id, in the reserved
/// `.invalid` domain, so it never collides with a registered address and never logs in.
pub fn external_email(user: crate::id::UserId) -> String {
    format!("{user}@external.invalid")
}

/// The password hash a deleted account is left with: no PHC string, so nothing verifies.
pub const ERASED_PASSWORD_HASH: &str = "!";

/// Kinds of rooms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoomKind {
    /// Exactly two members, at most one such room per pair.
    Direct,
    /// A named room of any number of members with roles (see [`crate::membership`]).
    Group,
}

/// A conversation and who may read and write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Room {
    /// Stable identity.
    pub id: RoomId,
    /// What kind of room this is.
    pub kind: RoomKind,
    /// A direct room's two members, sorted by id; only they can read or write the room.
    /// Always empty for a group, whose members may be many: ask the store
    /// (`GroupStore::member`, `GroupStore::members`) instead.
    pub members: Vec<UserId>,
    /// When the room was first opened.
    pub created_at: Timestamp,
    /// The newest message's time, or `created_at`; orders a user's room list.
    pub last_activity: Timestamp,
    /// The newest message (or membership change), for room lists.
    pub last_message: Option<Message>,
    /// Name and creator, for groups only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupInfo>,
}

impl Room {
    /// Whether `user` is one of a direct room's members. Always false for a group: its
    /// membership lives in the store, not in this record.
    pub fn is_member(&self, user: UserId) -> bool {
        self.members.contains(&user)
    }
}

/// One stored chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Stable identity, also the paging cursor clients send back.
    pub id: MessageId,
    /// The room it belongs to.
    pub room_id: RoomId,
    /// Position in the room: 1, 2, 3… with no gaps, so clients can see what they missed.
    pub seq: u64,
    /// The authenticated sender; never taken from client input.
    pub sender_id: UserId,
    /// The sender's name when the message was sent.
    pub sender_name: String,
    /// The text itself.
    pub text: String,
    /// The sender's own id for the message, used to match echoes and make resends idempotent.
    pub client_id: Option<String>,
    /// When the server accepted it.
    pub timestamp: Timestamp,
    /// Set when this timeline entry is a membership change of a group rather than a chat
    /// message; absent from the serialized form otherwise, so direct rooms look as before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<RoomEvent>,
    /// When the author last changed the text; `None` for a message never edited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<Timestamp>,
    /// A tombstone: the text is gone from the store for good; `seq`, sender and time remain
    /// so the timeline keeps its shape.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// The reactions, one entry per distinct emoji in the order each was first used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// The files attached to the message, in the order the sender gave; absent from the
    /// serialized form when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// One emoji on a message and who reacted with it, in the order they did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reaction {
    /// A single grapheme cluster.
    pub emoji: String,
    /// Each user at most once.
    pub users: Vec<UserId>,
}

/// A message before the store has placed it in its room's sequence.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Chosen by the engine.
    pub id: MessageId,
    /// Target room; the engine has checked membership.
    pub room_id: RoomId,
    /// The authenticated sender.
    pub sender_id: UserId,
    /// The sender's current name.
    pub sender_name: String,
    /// Validated text.
    pub text: String,
    /// Idempotency key within (room, sender), if the client gave one.
    pub client_id: Option<String>,
    /// Acceptance time.
    pub timestamp: Timestamp,
    /// The files the engine attached to it (already claimed for this message's id).
    pub attachments: Vec<Attachment>,
}

impl NewMessage {
    /// The stored form once the store has assigned `seq`.
    pub fn with_seq(self, seq: u64) -> Message {
        Message {
            id: self.id,
            room_id: self.room_id,
            seq,
            sender_id: self.sender_id,
            sender_name: self.sender_name,
            text: self.text,
            client_id: self.client_id,
            timestamp: self.timestamp,
            event: None,
            edited_at: None,
            deleted: false,
            reactions: Vec::new(),
            attachments: self.attachments,
        }
    }
}

/// The result of appending: the stored message, and whether this call stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The message as stored (the original one for an idempotent resend).
    pub message: Message,
    /// False when the (room, sender, client_id) was already stored and nothing new was written.
    pub created: bool,
}

/// A message as a catch-up sees it: its current state and when it last changed (edited,
/// deleted or reacted to), the cursor a client pages changes by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// When the newest change happened.
    pub at: Timestamp,
    /// The message as it is now.
    pub message: Message,
}

/// The outcome of adding or removing one reaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reacted {
    /// The message with its reactions as they are now.
    pub message: Message,
    /// False when nothing changed (the reaction was already there, or already gone).
    pub changed: bool,
}

//! Mapping between rows and the model types: which columns a query selects, in which order,
//! and how ids, instants and seqs are encoded.
//!
//! Ids are stored as their 12 raw bytes, instants as milliseconds since the epoch, seqs as
//! SQLite integers. The column-list macros and the mapping functions below must agree on the
//! order, so they live side by side.

use std::hash::Hasher;

use chat_core::files::{Attachment, FileRecord};
use chat_core::id::{FileId, MessageId, RawId, RoomId, UserId};
use chat_core::membership::{GroupInfo, Member, Role, RoomEvent};
use chat_core::model::{
    Account, AccountStatus, Credentials, Message, Room, RoomKind, Timestamp, User,
};
use fnv::FnvHasher;
use rusqlite::Row;
use rusqlite::types::Type;

/// How a direct room's `kind` is spelled in the database.
pub(crate) const DIRECT: &str = "direct";
/// How a group room's `kind` is spelled in the database.
pub(crate) const GROUP: &str = "group";

/// The columns [`user`] reads, from `users`.
macro_rules! user_columns {
    () => {
        "id, email, name, created_at"
    };
}
pub(crate) use user_columns;

/// The columns [`message`] reads, from `messages` (aliased by the given prefix, e.g. `"m."`).
macro_rules! message_columns {
    ($prefix:literal) => {
        concat!(
            $prefix,
            "id, ",
            $prefix,
            "room_id, ",
            $prefix,
            "seq, ",
            $prefix,
            "sender_id, ",
            $prefix,
            "sender_name, ",
            $prefix,
            "text, ",
            $prefix,
            "client_id, ",
            $prefix,
            "ts, ",
            $prefix,
            "event_kind, ",
            $prefix,
            "event_user, ",
            $prefix,
            "event_role, ",
            $prefix,
            "event_name, ",
            $prefix,
            "edited_at, ",
            $prefix,
            "deleted, ",
            $prefix,
            "attachments"
        )
    };
}
pub(crate) use message_columns;

/// The seq of the newest timeline entry of the room whose id is the SQL expression `$room`,
/// 0 when it has none: one step down the `(room_id, seq)` index. Rooms keep no copy of it, so
/// an append writes no room row.
macro_rules! head_seq {
    ($room:literal) => {
        concat!(
            "(SELECT coalesce(max(seq), 0) FROM messages WHERE room_id = ",
            $room,
            ")"
        )
    };
}
pub(crate) use head_seq;

/// `FROM` clause for [`room_columns`]: rooms as `r`, each with its newest timeline entry as
/// `m` (all NULL when it has none).
macro_rules! rooms_with_last_message {
    () => {
        concat!(
            " FROM rooms r LEFT JOIN messages m ON m.room_id = r.id AND m.seq = ",
            $crate::rows::head_seq!("r.id")
        )
    };
}
pub(crate) use rooms_with_last_message;

/// A room's last activity: when it was created or last changed, or its newest entry's time if
/// later.
macro_rules! last_activity {
    () => {
        "max(r.last_activity, coalesce(m.ts, r.last_activity))"
    };
}
pub(crate) use last_activity;

/// The columns [`room`] reads: `rooms` as `r`, then its last message from `messages` as `m`,
/// for [`rooms_with_last_message`].
macro_rules! room_columns {
    () => {
        concat!(
            "r.id, r.kind, r.member_a, r.member_b, r.created_at, ",
            $crate::rows::last_activity!(),
            ", r.name, r.created_by, ",
            $crate::rows::message_columns!("m.")
        )
    };
}
pub(crate) use room_columns;

/// The columns [`member`] reads, from `room_members`.
macro_rules! member_columns {
    () => {
        "user_id, role, joined_at"
    };
}
pub(crate) use member_columns;

/// A [`User`] from [`user_columns`].
pub(crate) fn user(row: &Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: UserId(raw_id(row, 0)?),
        email: row.get(1)?,
        name: row.get(2)?,
        created_at: timestamp(row, 3)?,
    })
}

/// [`Credentials`] from [`user_columns`] followed by `password_hash, status`.
pub(crate) fn credentials(row: &Row<'_>) -> rusqlite::Result<Credentials> {
    Ok(Credentials {
        user: user(row)?,
        password_hash: row.get(4)?,
        status: status(row, 5)?,
    })
}

/// An [`Account`] from [`user_columns`] followed by `status`.
pub(crate) fn account(row: &Row<'_>) -> rusqlite::Result<Account> {
    Ok(Account {
        user: user(row)?,
        status: status(row, 4)?,
    })
}

fn status(row: &Row<'_>, column: usize) -> rusqlite::Result<AccountStatus> {
    let text: String = row.get(column)?;
    AccountStatus::parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            Type::Text,
            format!("unknown account status {text:?}").into(),
        )
    })
}

/// A [`Message`] from [`message_columns`], starting at column `at`.
pub(crate) fn message(row: &Row<'_>, at: usize) -> rusqlite::Result<Message> {
    Ok(Message {
        id: MessageId(raw_id(row, at)?),
        room_id: RoomId(raw_id(row, at + 1)?),
        seq: row.get(at + 2)?,
        sender_id: UserId(raw_id(row, at + 3)?),
        sender_name: row.get(at + 4)?,
        text: row.get(at + 5)?,
        client_id: row.get(at + 6)?,
        timestamp: timestamp(row, at + 7)?,
        event: event(row, at + 8)?,
        edited_at: row
            .get::<_, Option<i64>>(at + 12)?
            .map(|millis| instant(millis, at + 12))
            .transpose()?,
        deleted: row.get(at + 13)?,
        reactions: Vec::new(),
        attachments: attachments(row, at + 14)?,
    })
}

/// The attachments JSON column at `at` (NULL: none).
fn attachments(row: &Row<'_>, at: usize) -> rusqlite::Result<Vec<Attachment>> {
    match row.get::<_, Option<String>>(at)? {
        None => Ok(Vec::new()),
        Some(json) => serde_json::from_str(&json)
            .map_err(|err| rusqlite::Error::FromSqlConversionFailure(at, Type::Text, err.into())),
    }
}

/// The attachments column's value for `attachments`: NULL when there are none.
pub(crate) fn attachments_json(attachments: &[Attachment]) -> Option<String> {
    if attachments.is_empty() {
        return None;
    }
    serde_json::to_string(attachments).ok()
}

/// The columns [`file`] reads, from `files`.
macro_rules! file_columns {
    () => {
        "id, room_id, uploader_id, name, size, content_type, width, height, created_at, message_id"
    };
}
pub(crate) use file_columns;

/// A [`FileRecord`] from [`file_columns`].
pub(crate) fn file(row: &Row<'_>) -> rusqlite::Result<FileRecord> {
    Ok(FileRecord {
        id: FileId(raw_id(row, 0)?),
        room_id: RoomId(raw_id(row, 1)?),
        uploader_id: UserId(raw_id(row, 2)?),
        name: row.get(3)?,
        size: row.get(4)?,
        content_type: row.get(5)?,
        width: row.get(6)?,
        height: row.get(7)?,
        created_at: timestamp(row, 8)?,
        message_id: row
            .get::<_, Option<[u8; 12]>>(9)?
            .map(|bytes| MessageId(RawId::from_bytes(bytes))),
    })
}

/// The membership change recorded in the `event_*` columns starting at `at`, if any.
fn event(row: &Row<'_>, at: usize) -> rusqlite::Result<Option<RoomEvent>> {
    let Some(kind) = row.get::<_, Option<String>>(at)? else {
        return Ok(None);
    };
    let user: Option<RawId> = row
        .get::<_, Option<[u8; 12]>>(at + 1)?
        .map(RawId::from_bytes);
    let role = row
        .get::<_, Option<String>>(at + 2)?
        .map(|role| parse_role(&role, at + 2))
        .transpose()?;
    let name: Option<String> = row.get(at + 3)?;
    RoomEvent::from_parts(&kind, user.map(UserId), role, name)
        .map(Some)
        .ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                at,
                Type::Text,
                format!("malformed {kind:?} event").into(),
            )
        })
}

/// A [`Member`] from [`member_columns`].
pub(crate) fn member(row: &Row<'_>) -> rusqlite::Result<Member> {
    let role: String = row.get(1)?;
    Ok(Member {
        user_id: UserId(raw_id(row, 0)?),
        role: parse_role(&role, 1)?,
        joined_at: timestamp(row, 2)?,
    })
}

fn parse_role(role: &str, column: usize) -> rusqlite::Result<Role> {
    Role::parse(role).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            Type::Text,
            format!("unknown role {role:?}").into(),
        )
    })
}

/// A [`Room`] with its last message, from [`room_columns`].
pub(crate) fn room(row: &Row<'_>) -> rusqlite::Result<Room> {
    let kind: String = row.get(1)?;
    let (kind, members, group) = match kind.as_str() {
        DIRECT => (
            RoomKind::Direct,
            vec![UserId(raw_id(row, 2)?), UserId(raw_id(row, 3)?)],
            None,
        ),
        GROUP => (
            RoomKind::Group,
            Vec::new(),
            Some(GroupInfo {
                name: row.get(6)?,
                created_by: UserId(raw_id(row, 7)?),
            }),
        ),
        _ => {
            return Err(rusqlite::Error::FromSqlConversionFailure(
                1,
                Type::Text,
                format!("unknown room kind {kind:?}").into(),
            ));
        }
    };
    let has_last_message = row.get_ref(8)?.data_type() != Type::Null;
    Ok(Room {
        id: RoomId(raw_id(row, 0)?),
        kind,
        members,
        created_at: timestamp(row, 4)?,
        last_activity: timestamp(row, 5)?,
        last_message: if has_last_message {
            Some(message(row, 8)?)
        } else {
            None
        },
        group,
    })
}

/// The idempotency key of a message `sender` stored under `client_id` (see
/// `migrations::V11`): the 64-bit FNV-1a hash of the sender's 12 bytes followed by the
/// `client_id`'s bytes. Databases keep it, so it must never change. FNV is not made to resist
/// crafted collisions; a sender who crafts them only makes the lookups of its own resends
/// read more rows, since the sender is part of what is hashed and every row found is compared
/// in full.
pub(crate) fn client_key(sender: UserId, client_id: &str) -> i64 {
    let mut hasher = FnvHasher::default();
    hasher.write(sender.0.as_bytes());
    hasher.write(client_id.as_bytes());
    i64::from_le_bytes(hasher.finish().to_le_bytes())
}

/// How instants are stored: whole milliseconds, the precision the model keeps.
pub(crate) fn millis(instant: Timestamp) -> i64 {
    instant.timestamp_millis()
}

/// The 12-byte id in `column`.
pub(crate) fn raw_id(row: &Row<'_>, column: usize) -> rusqlite::Result<RawId> {
    row.get(column).map(RawId::from_bytes)
}

fn timestamp(row: &Row<'_>, column: usize) -> rusqlite::Result<Timestamp> {
    instant(row.get(column)?, column)
}

/// The instant `millis` after the epoch, read from `column`.
pub(crate) fn instant(millis: i64, column: usize) -> rusqlite::Result<Timestamp> {
    Timestamp::from_timestamp_millis(millis).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            Type::Integer,
            format!("{millis} ms is not a representable instant").into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use chat_core::id::{RawId, UserId};

    use super::client_key;

    /// Stored keys are compared with fresh ones, so the function must never change: this is
    /// FNV-1a over the sender's bytes then the `client_id`'s, computed independently.
    #[test]
    fn client_keys_are_fnv_1a_of_sender_then_client_id() {
        let bytes: [u8; 12] = std::array::from_fn(|i| i as u8 + 1);
        let sender = UserId(RawId::from_bytes(bytes));
        assert_eq!(client_key(sender, "c-1"), 3_272_878_826_222_785_380);
    }
}

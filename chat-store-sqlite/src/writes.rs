//! The SQL of the write path: each statement the writer thread runs inside its group
//! transaction, one function per kind of write. Everything here assumes it runs on the write
//! connection inside `BEGIN IMMEDIATE`, so reads followed by writes are atomic.

use chat_core::id::{RoomId, UserId};
use chat_core::model::{Appended, Message, NewMessage, NewUser, Room, Timestamp, User};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::SqliteError;
use crate::queries;
use crate::recent_keys::RecentKeys;
use crate::rows::{self, DIRECT};

/// Stamps the write probe's one row with the time of this probe.
pub(crate) fn probe(conn: &Connection, now: Timestamp) -> Result<(), SqliteError> {
    conn.prepare_cached(
        "INSERT INTO health (id, probed_at) VALUES (1, ?1)
         ON CONFLICT (id) DO UPDATE SET probed_at = excluded.probed_at",
    )?
    .execute([rows::millis(now)])?;
    Ok(())
}

/// Inserts a user; a taken email (or id) fails with a unique violation.
pub(crate) fn insert_user(conn: &Connection, user: NewUser) -> Result<User, SqliteError> {
    conn.prepare_cached(
        "INSERT INTO users (id, email, name, name_folded, password_hash, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute((
        user.id.0.as_bytes(),
        &user.email,
        &user.name,
        user.name.to_lowercase(),
        &user.password_hash,
        rows::millis(user.created_at),
    ))?;
    Ok(User {
        id: user.id,
        email: user.email,
        name: user.name,
        created_at: user.created_at,
    })
}

/// The pair's room: inserted unless the UNIQUE pair already holds one, then read back.
pub(crate) fn direct_room(
    conn: &Connection,
    (a, b): (UserId, UserId),
    now: Timestamp,
) -> Result<Room, SqliteError> {
    let id = RoomId::generate();
    let now = rows::millis(now);
    let inserted = conn
        .prepare_cached(
            "INSERT INTO rooms (id, kind, member_a, member_b, created_at, last_activity)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (member_a, member_b) DO NOTHING",
        )?
        .execute((id.0.as_bytes(), DIRECT, a.0.as_bytes(), b.0.as_bytes(), now))?;
    if inserted > 0 {
        let mut member = conn.prepare_cached(
            "INSERT INTO room_members (room_id, user_id, joined_at) VALUES (?1, ?2, ?3)",
        )?;
        for user in [a, b] {
            member.execute((id.0.as_bytes(), user.0.as_bytes(), now))?;
        }
    }
    queries::direct_room(conn, a, b)?
        .ok_or(SqliteError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
}

/// Appends a message: finds the original of a resend among the room's newest entries
/// (`recent_keys`), or takes the room's next seq and inserts. The head the seq follows is the
/// writer's own record of it when it trusts one, else read from the database; if a trusted
/// head turns out to be behind (the seq is taken), it is read and the append tried again.
pub(crate) fn append(
    conn: &Connection,
    message: NewMessage,
    keys: &mut RecentKeys,
) -> Result<Appended, SqliteError> {
    let room = message.room_id;
    let mut message = message.with_seq(0);
    if let Some(head) = keys.head(room) {
        match place(conn, &mut message, head, keys) {
            Err(error) if error.is_taken_seq() => {
                tracing::warn!(%room, head, "the writer's record of a room's head was behind");
                keys.distrust(room);
            }
            placed => return placed.map(|original| appended(original, message)),
        }
    }
    let head = stored_head(conn, room)?;
    place(conn, &mut message, head, keys).map(|original| appended(original, message))
}

/// `room`'s newest seq as stored (0 before its first entry).
fn stored_head(conn: &Connection, room: RoomId) -> Result<u64, SqliteError> {
    conn.prepare_cached(concat!(
        "SELECT ",
        rows::head_seq!("?1"),
        " FROM rooms WHERE id = ?1"
    ))?
    .query_row([room.0.as_bytes()], |row| row.get(0))
    .optional()?
    .ok_or(SqliteError::RoomNotFound(room))
}

/// Stores `message` with the seq after `head`, unless it resends one of its room's newest
/// entries: answers that original instead.
fn place(
    conn: &Connection,
    message: &mut Message,
    head: u64,
    keys: &mut RecentKeys,
) -> Result<Option<Message>, SqliteError> {
    let room = message.room_id;
    let key = message
        .client_id
        .as_deref()
        .map(|client_id| rows::client_key(message.sender_id, client_id));
    if let Some(key) = key {
        let now = rows::millis(message.timestamp);
        for seq in keys.candidates(conn, room, head, key, now)? {
            if let Some(original) = queries::message_at(conn, room, seq)?
                && original.sender_id == message.sender_id
                && original.client_id == message.client_id
            {
                return Ok(Some(original));
            }
        }
    }
    message.seq = head + 1;
    insert_entry(conn, message)?;
    keys.record(room, message.seq, key);
    Ok(None)
}

/// The outcome of an append: the original of a resend, or the message just stored.
fn appended(original: Option<Message>, message: Message) -> Appended {
    match original {
        Some(original) => Appended {
            message: original,
            created: false,
        },
        None => Appended {
            message,
            created: true,
        },
    }
}

/// Stores a timeline entry (a message or a membership change) with the seq it carries, which
/// must be the room's next. The room's row is not written: its last message and activity are
/// read from its newest entry. Neither is the sender's read position: the writer records a
/// message's move once it commits (`read_marks`), and a membership change moves its actor's
/// at once (`groups`).
pub(crate) fn insert_entry(conn: &Connection, message: &Message) -> Result<(), SqliteError> {
    let room = message.room_id;
    let ts = rows::millis(message.timestamp);
    let event = message.event.as_ref().map(|event| event.parts());
    conn.prepare_cached(
        "INSERT INTO messages (id, room_id, seq, sender_id, sender_name, text, client_id,
             client_key, ts, event_kind, event_user, event_role, event_name, attachments)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        message.id.0.as_bytes(),
        room.0.as_bytes(),
        message.seq,
        message.sender_id.0.as_bytes(),
        message.sender_name,
        message.text,
        message.client_id,
        message
            .client_id
            .as_deref()
            .map(|client_id| rows::client_key(message.sender_id, client_id)),
        ts,
        event.as_ref().map(|event| event.kind),
        event
            .as_ref()
            .and_then(|event| event.user)
            .map(|user| *user.0.as_bytes()),
        event
            .as_ref()
            .and_then(|event| event.role)
            .map(|role| role.as_str()),
        event.as_ref().and_then(|event| event.name),
        rows::attachments_json(&message.attachments),
    ])?;
    Ok(())
}

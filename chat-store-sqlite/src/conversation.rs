//! Conversation state in SQL: read positions, forward pages, edits, tombstones and the
//! change feed. Writes run on the writer thread inside its transaction; reads on any
//! connection.

use chat_core::id::{MessageId, RoomId, UserId};
use chat_core::model::{Changed, Message, Timestamp};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::SqliteError;
use crate::rows::{self, message_columns};
use crate::{queries, reactions};

/// Moves a member's read position up (never down) and returns it; 0 for a non-member.
pub(crate) fn mark_read(
    conn: &Connection,
    room: RoomId,
    user: UserId,
    seq: u64,
) -> Result<u64, SqliteError> {
    conn.prepare_cached(
        "UPDATE room_members SET read_seq = max(read_seq, ?3) WHERE room_id = ?1 AND user_id = ?2",
    )?
    .execute(params![room.0.as_bytes(), user.0.as_bytes(), seq])?;
    Ok(read_position(conn, room, user)?)
}

fn read_position(conn: &Connection, room: RoomId, user: UserId) -> rusqlite::Result<u64> {
    let found: Option<u64> = conn
        .prepare_cached("SELECT read_seq FROM room_members WHERE room_id = ?1 AND user_id = ?2")?
        .query_row((room.0.as_bytes(), user.0.as_bytes()), |row| row.get(0))
        .optional()?;
    Ok(found.unwrap_or(0))
}

/// Read positions by primary-key lookups, in the order asked.
pub(crate) fn read_positions(
    conn: &Connection,
    keys: &[(RoomId, UserId)],
) -> rusqlite::Result<Vec<u64>> {
    keys.iter()
        .map(|&(room, user)| read_position(conn, room, user))
        .collect()
}

/// Entries of `room` with `seq > after`, oldest first: a range of the `(room_id, seq)` index.
pub(crate) fn page_after(
    conn: &Connection,
    room: RoomId,
    after: u64,
    limit: usize,
) -> rusqlite::Result<Vec<Message>> {
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let mut page: Vec<Message> = conn
        .prepare_cached(concat!(
            "SELECT ",
            message_columns!(""),
            " FROM messages WHERE room_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
        ))?
        .query_map(
            params![room.0.as_bytes(), after, queries::sql_limit(limit)],
            |row| rows::message(row, 0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    reactions::attach(conn, &mut page)?;
    Ok(page)
}

/// Messages of `room` changed at or after `since`, oldest change first.
pub(crate) fn changed(
    conn: &Connection,
    room: RoomId,
    since: Timestamp,
    limit: usize,
) -> rusqlite::Result<Vec<Changed>> {
    let found: Vec<(i64, Message)> = conn
        .prepare_cached(concat!(
            "SELECT changed_at, ",
            message_columns!(""),
            " FROM messages WHERE room_id = ?1 AND changed_at >= ?2",
            " ORDER BY changed_at, seq LIMIT ?3"
        ))?
        .query_map(
            params![
                room.0.as_bytes(),
                rows::millis(since),
                queries::sql_limit(limit)
            ],
            |row| Ok((row.get(0)?, rows::message(row, 1)?)),
        )?
        .collect::<rusqlite::Result<_>>()?;
    found
        .into_iter()
        .map(|(at, mut message)| {
            reactions::attach(conn, std::slice::from_mut(&mut message))?;
            Ok(Changed {
                at: rows::instant(at, 0)?,
                message,
            })
        })
        .collect()
}

/// Whether the message `id` of `room` is deleted; `MessageNotFound` when the room holds no
/// such message.
fn is_deleted(conn: &Connection, room: RoomId, id: MessageId) -> Result<bool, SqliteError> {
    conn.prepare_cached("SELECT deleted FROM messages WHERE id = ?1 AND room_id = ?2")?
        .query_row((id.0.as_bytes(), room.0.as_bytes()), |row| row.get(0))
        .optional()?
        .ok_or(SqliteError::MessageNotFound)
}

/// Fails unless the message `id` of `room` exists and is not a tombstone.
pub(crate) fn live_message(
    conn: &Connection,
    room: RoomId,
    id: MessageId,
) -> Result<(), SqliteError> {
    if is_deleted(conn, room, id)? {
        return Err(SqliteError::MessageDeleted);
    }
    Ok(())
}

/// The message as stored now, with its reactions.
fn stored(conn: &Connection, id: MessageId) -> Result<Message, SqliteError> {
    let mut message = queries::message(conn, id)?.ok_or(SqliteError::MessageNotFound)?;
    reactions::attach(conn, std::slice::from_mut(&mut message))?;
    Ok(message)
}

/// Replaces a live message's text and stamps the edit.
pub(crate) fn edit(
    conn: &Connection,
    room: RoomId,
    id: MessageId,
    text: &str,
    at: Timestamp,
) -> Result<Message, SqliteError> {
    live_message(conn, room, id)?;
    conn.prepare_cached(
        "UPDATE messages SET text = ?2, edited_at = ?3, changed_at = ?3 WHERE id = ?1",
    )?
    .execute((id.0.as_bytes(), text, rows::millis(at)))?;
    stored(conn, id)
}

/// Empties the text in place (`secure_delete` zeroes the old bytes; the search index's
/// update trigger forgets the message), drops the reactions and the attachments column
/// (the files themselves go with `Engine::drop_attachments`) and marks the tombstone; a
/// tombstone is returned as it is.
pub(crate) fn delete(
    conn: &Connection,
    room: RoomId,
    id: MessageId,
    at: Timestamp,
) -> Result<Message, SqliteError> {
    if !is_deleted(conn, room, id)? {
        conn.prepare_cached(
            "UPDATE messages SET text = '', attachments = NULL, deleted = 1, changed_at = ?2 \
             WHERE id = ?1",
        )?
        .execute((id.0.as_bytes(), rows::millis(at)))?;
        conn.prepare_cached("DELETE FROM reactions WHERE message_id = ?1")?
            .execute([id.0.as_bytes()])?;
    }
    stored(conn, id)
}

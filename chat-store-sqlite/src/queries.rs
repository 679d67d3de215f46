//! The SELECTs, shared by the read pool and the writer (which reads back what it just wrote,
//! inside its transaction). Each takes any connection and returns model types.
//!
//! Statements are prepared once per connection (`prepare_cached`), so a query costs a bind
//! and a step, not a parse.

use chat_core::id::{MessageId, RoomId, UserId};
use chat_core::membership::Member;
use chat_core::model::{Credentials, Message, Room, User};
use rusqlite::{Connection, OptionalExtension, params};

use crate::rows::{
    self, head_seq, last_activity, member_columns, message_columns, room_columns,
    rooms_with_last_message, user_columns,
};

/// The user with this id.
pub(crate) fn user(conn: &Connection, id: UserId) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = ?1"
    ))?
    .query_row([id.0.as_bytes()], rows::user)
    .optional()
}

/// The users among `ids` that exist, by one primary-key lookup each.
pub(crate) fn users(conn: &Connection, ids: &[UserId]) -> rusqlite::Result<Vec<User>> {
    let mut found = Vec::with_capacity(ids.len());
    for &id in ids {
        found.extend(user(conn, id)?);
    }
    Ok(found)
}

/// The account and password hash registered under this (normalized) email.
pub(crate) fn credentials(conn: &Connection, email: &str) -> rusqlite::Result<Option<Credentials>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        user_columns!(),
        ", password_hash, status FROM users WHERE email = ?1"
    ))?
    .query_row([email], rows::credentials)
    .optional()
}

/// Users other than `exclude` whose name or email contains `query` as plain text, ignoring
/// case, ordered by name then id.
///
/// Both sides are lowercased in Rust (the stored `name_folded`, and the query), and the query's
/// `%`, `_` and `\` are escaped, so `LIKE` only ever does a literal substring match.
pub(crate) fn search_users(
    conn: &Connection,
    query: Option<&str>,
    exclude: UserId,
    limit: usize,
) -> rusqlite::Result<Vec<User>> {
    let pattern = query.map(|query| format!("%{}%", escape_like(&query.to_lowercase())));
    conn.prepare_cached(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id <> ?1",
        r" AND (?2 IS NULL OR name_folded LIKE ?2 ESCAPE '\' OR email LIKE ?2 ESCAPE '\')",
        " ORDER BY name, id LIMIT ?3"
    ))?
    .query_map(
        params![exclude.0.as_bytes(), pattern, sql_limit(limit)],
        rows::user,
    )?
    .collect()
}

/// The room with this id.
pub(crate) fn room(conn: &Connection, id: RoomId) -> rusqlite::Result<Option<Room>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        room_columns!(),
        rooms_with_last_message!(),
        " WHERE r.id = ?1"
    ))?
    .query_row([id.0.as_bytes()], rows::room)
    .optional()
}

/// The direct room of a pair, given sorted (`a < b`).
pub(crate) fn direct_room(
    conn: &Connection,
    a: UserId,
    b: UserId,
) -> rusqlite::Result<Option<Room>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        room_columns!(),
        rooms_with_last_message!(),
        " WHERE r.member_a = ?1 AND r.member_b = ?2"
    ))?
    .query_row([a.0.as_bytes(), b.0.as_bytes()], rows::room)
    .optional()
}

/// The rooms of `user`, direct and group, newest activity first: the user's memberships from
/// `room_members_by_user`, each room by its primary key, then sorted (a user has few rooms).
pub(crate) fn rooms_of(
    conn: &Connection,
    user: UserId,
    limit: usize,
) -> rusqlite::Result<Vec<Room>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        room_columns!(),
        " FROM room_members rm JOIN rooms r ON r.id = rm.room_id",
        " LEFT JOIN messages m ON m.room_id = r.id AND m.seq = ",
        head_seq!("r.id"),
        " WHERE rm.user_id = ?1",
        " ORDER BY ",
        last_activity!(),
        " DESC, r.id DESC LIMIT ?2"
    ))?
    .query_map(params![user.0.as_bytes(), sql_limit(limit)], rows::room)?
    .collect()
}

/// The ids of the rooms of `user`, direct and group: its rows of `room_members_by_user`.
pub(crate) fn room_ids_of(conn: &Connection, user: UserId) -> rusqlite::Result<Vec<RoomId>> {
    conn.prepare_cached("SELECT room_id FROM room_members WHERE user_id = ?1")?
        .query_map([user.0.as_bytes()], |row| Ok(RoomId(rows::raw_id(row, 0)?)))?
        .collect()
}

/// The membership of `user` in the group `room`; direct rooms have none.
pub(crate) fn member(
    conn: &Connection,
    room: RoomId,
    user: UserId,
) -> rusqlite::Result<Option<Member>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        member_columns!(),
        " FROM room_members WHERE room_id = ?1 AND user_id = ?2",
        " AND EXISTS (SELECT 1 FROM rooms WHERE id = ?1 AND kind = 'group')"
    ))?
    .query_row([room.0.as_bytes(), user.0.as_bytes()], rows::member)
    .optional()
}

/// Up to `limit` members of the group `room` with user ids above `after`, by user id: a range
/// scan of the primary key.
pub(crate) fn members(
    conn: &Connection,
    room: RoomId,
    after: Option<UserId>,
    limit: usize,
) -> rusqlite::Result<Vec<Member>> {
    let after: &[u8] = after.as_ref().map_or(&[], |after| after.0.as_bytes());
    conn.prepare_cached(concat!(
        "SELECT ",
        member_columns!(),
        " FROM room_members WHERE room_id = ?1 AND user_id > ?2",
        " AND EXISTS (SELECT 1 FROM rooms WHERE id = ?1 AND kind = 'group')",
        " ORDER BY user_id LIMIT ?3"
    ))?
    .query_map(
        params![room.0.as_bytes(), after, sql_limit(limit)],
        rows::member,
    )?
    .collect()
}

/// How many members the group `room` has.
pub(crate) fn member_count(conn: &Connection, room: RoomId) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "SELECT count(*) FROM room_members WHERE room_id = ?1
         AND EXISTS (SELECT 1 FROM rooms WHERE id = ?1 AND kind = 'group')",
    )?
    .query_row([room.0.as_bytes()], |row| row.get(0))
}

/// Up to `limit` messages of `room` with `seq < before`, newest first: a range scan of the
/// `(room_id, seq)` index, so deep pages cost the same as the first.
pub(crate) fn page(
    conn: &Connection,
    room: RoomId,
    before: Option<u64>,
    limit: usize,
) -> rusqlite::Result<Vec<Message>> {
    let before = before.map_or(i64::MAX, |seq| i64::try_from(seq).unwrap_or(i64::MAX));
    let mut page: Vec<Message> = conn
        .prepare_cached(concat!(
            "SELECT ",
            message_columns!(""),
            " FROM messages WHERE room_id = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
        ))?
        .query_map(
            params![room.0.as_bytes(), before, sql_limit(limit)],
            |row| rows::message(row, 0),
        )?
        .collect::<rusqlite::Result<_>>()?;
    crate::reactions::attach(conn, &mut page)?;
    Ok(page)
}

/// The message with this id and its reactions.
pub(crate) fn message_with_reactions(
    conn: &Connection,
    id: MessageId,
) -> rusqlite::Result<Option<Message>> {
    let mut found = message(conn, id)?;
    if let Some(message) = found.as_mut() {
        crate::reactions::attach(conn, std::slice::from_mut(message))?;
    }
    Ok(found)
}

/// The message with this id.
pub(crate) fn message(conn: &Connection, id: MessageId) -> rusqlite::Result<Option<Message>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        message_columns!(""),
        " FROM messages WHERE id = ?1"
    ))?
    .query_row([id.0.as_bytes()], |row| rows::message(row, 0))
    .optional()
}

/// The entry at `seq` in `room`.
pub(crate) fn message_at(
    conn: &Connection,
    room: RoomId,
    seq: u64,
) -> rusqlite::Result<Option<Message>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        message_columns!(""),
        " FROM messages WHERE room_id = ?1 AND seq = ?2"
    ))?
    .query_row(params![room.0.as_bytes(), seq], |row| rows::message(row, 0))
    .optional()
}

/// `LIMIT` takes a signed integer; anything beyond it means "no limit".
pub(crate) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Makes `text` match only itself inside a `LIKE … ESCAPE '\'` pattern.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
        assert_eq!(escape_like("plain"), "plain");
    }
}

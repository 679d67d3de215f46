//! Group rooms on the writer thread: each change runs inside the writer's transaction, so the
//! membership rows, the room's name and the timeline entries with their seqs change together
//! or not at all, also against other processes writing the same file.

use chat_core::id::{RoomId, UserId};
use chat_core::membership::{self, Change, Member, NewGroup, Role, RoomEvent};
use chat_core::model::{Message, Room};
use rusqlite::{Connection, OptionalExtension};

use crate::conversation;
use crate::error::SqliteError;
use crate::queries;
use crate::rows::{self, GROUP};
use crate::writes::insert_entry;

/// The seq of the group's newest entry; fails for unknown rooms and direct rooms.
fn group_head(conn: &Connection, room: RoomId) -> Result<u64, SqliteError> {
    let found: Option<(String, u64)> = conn
        .prepare_cached(concat!(
            "SELECT kind, ",
            crate::rows::head_seq!("?1"),
            " FROM rooms WHERE id = ?1"
        ))?
        .query_row([room.0.as_bytes()], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    match found {
        None => Err(SqliteError::RoomNotFound(room)),
        Some((kind, _)) if kind != GROUP => Err(SqliteError::NotAGroup(room)),
        Some((_, head)) => Ok(head),
    }
}

/// Stores `entries` with the seqs following `head`.
fn record(
    conn: &Connection,
    head: u64,
    entries: impl IntoIterator<Item = Message>,
) -> Result<Vec<Message>, SqliteError> {
    entries
        .into_iter()
        .zip(head + 1..)
        .map(|(entry, seq)| insert_marked(conn, Message { seq, ..entry }))
        .collect()
}

/// Stores a membership change and moves its actor's read position to it: whoever made the
/// change has seen it. Membership changes are rare, so the move is stored at once.
fn insert_marked(conn: &Connection, entry: Message) -> Result<Message, SqliteError> {
    insert_entry(conn, &entry)?;
    conversation::mark_read(conn, entry.room_id, entry.sender_id, entry.seq)?;
    Ok(entry)
}

fn insert_member(conn: &Connection, room: RoomId, member: &Member) -> Result<(), SqliteError> {
    conn.prepare_cached(
        "INSERT INTO room_members (room_id, user_id, role, joined_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute((
        room.0.as_bytes(),
        member.user_id.0.as_bytes(),
        member.role.as_str(),
        rows::millis(member.joined_at),
    ))?;
    Ok(())
}

fn update_role(
    conn: &Connection,
    room: RoomId,
    user: UserId,
    role: Role,
) -> Result<(), SqliteError> {
    conn.prepare_cached("UPDATE room_members SET role = ?3 WHERE room_id = ?1 AND user_id = ?2")?
        .execute((room.0.as_bytes(), user.0.as_bytes(), role.as_str()))?;
    Ok(())
}

/// Inserts the room, its members and its `Created` entry.
pub(crate) fn create(conn: &Connection, group: NewGroup) -> Result<(Room, Message), SqliteError> {
    let members = group.initial_members();
    if members.len() > group.max_members {
        return Err(SqliteError::RoomFull);
    }
    let at = rows::millis(group.created_at);
    conn.prepare_cached(
        "INSERT INTO rooms (id, kind, name, created_by, created_at, last_activity)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?
    .execute((
        group.id.0.as_bytes(),
        GROUP,
        &group.name,
        group.creator.0.as_bytes(),
        at,
    ))?;
    for member in &members {
        insert_member(conn, group.id, member)?;
    }
    let created = membership::event_entry(
        group.id,
        group.creator,
        &group.creator_name,
        group.created_at,
        RoomEvent::Created { name: group.name },
    );
    let created = insert_marked(conn, Message { seq: 1, ..created })?;
    let room = queries::room(conn, group.id)?
        .ok_or(SqliteError::Sqlite(rusqlite::Error::QueryReturnedNoRows))?;
    Ok((room, created))
}

/// Adds the users who are not members yet, if they all fit.
pub(crate) fn add(
    conn: &Connection,
    change: &Change,
    users: &[UserId],
    max_members: usize,
) -> Result<Vec<Message>, SqliteError> {
    let head = group_head(conn, change.room)?;
    let mut new: Vec<UserId> = Vec::new();
    for &user in users {
        if !new.contains(&user) && queries::member(conn, change.room, user)?.is_none() {
            new.push(user);
        }
    }
    if queries::member_count(conn, change.room)? + new.len() > max_members {
        return Err(SqliteError::RoomFull);
    }
    for &user in &new {
        let member = Member {
            user_id: user,
            role: Role::Member,
            joined_at: change.at,
        };
        insert_member(conn, change.room, &member)?;
    }
    let entries = new.into_iter().map(|user| {
        change.entry(RoomEvent::Added {
            user_id: user,
            role: Role::Member,
        })
    });
    record(conn, head, entries)
}

/// Ends a membership and, when that took the last owner, makes the heir owner.
pub(crate) fn remove(
    conn: &Connection,
    change: &Change,
    user: UserId,
) -> Result<Vec<Message>, SqliteError> {
    let head = group_head(conn, change.room)?;
    let removed = queries::member(conn, change.room, user)?.ok_or(SqliteError::NotAMember)?;
    conn.prepare_cached("DELETE FROM room_members WHERE room_id = ?1 AND user_id = ?2")?
        .execute((change.room.0.as_bytes(), user.0.as_bytes()))?;
    let mut entries = vec![change.entry(if user == change.actor {
        RoomEvent::Left { user_id: user }
    } else {
        RoomEvent::Removed { user_id: user }
    })];
    if removed.role == Role::Owner
        && let Some((heir, heir_name)) = heir(conn, change.room)?
    {
        update_role(conn, change.room, heir, Role::Owner)?;
        entries.push(membership::event_entry(
            change.room,
            heir,
            &heir_name,
            change.at,
            RoomEvent::RoleChanged {
                user_id: heir,
                role: Role::Owner,
            },
        ));
    }
    record(conn, head, entries)
}

/// The member who inherits ownership, with its name, unless an owner remains or nobody does:
/// the longest-standing admin, else member (see `chat_core::membership::heir`).
fn heir(conn: &Connection, room: RoomId) -> Result<Option<(UserId, String)>, SqliteError> {
    let owners: usize = conn
        .prepare_cached("SELECT count(*) FROM room_members WHERE room_id = ?1 AND role = 'owner'")?
        .query_row([room.0.as_bytes()], |row| row.get(0))?;
    if owners > 0 {
        return Ok(None);
    }
    Ok(conn
        .prepare_cached(
            "SELECT rm.user_id, coalesce(u.name, '') FROM room_members rm
             LEFT JOIN users u ON u.id = rm.user_id
             WHERE rm.room_id = ?1
             ORDER BY CASE rm.role WHEN 'admin' THEN 0 ELSE 1 END, rm.joined_at, rm.user_id
             LIMIT 1",
        )?
        .query_row([room.0.as_bytes()], |row| {
            Ok((
                UserId(chat_core::id::RawId::from_bytes(row.get(0)?)),
                row.get(1)?,
            ))
        })
        .optional()?)
}

/// Changes a member's role unless it already has it.
pub(crate) fn set_role(
    conn: &Connection,
    change: &Change,
    user: UserId,
    role: Role,
) -> Result<Option<Message>, SqliteError> {
    let head = group_head(conn, change.room)?;
    let member = queries::member(conn, change.room, user)?.ok_or(SqliteError::NotAMember)?;
    if member.role == role {
        return Ok(None);
    }
    update_role(conn, change.room, user, role)?;
    let entry = change.entry(RoomEvent::RoleChanged {
        user_id: user,
        role,
    });
    Ok(record(conn, head, [entry])?.pop())
}

/// Renames the group and records it, in one transaction: the latest seq names the room.
pub(crate) fn rename(
    conn: &Connection,
    change: &Change,
    name: &str,
) -> Result<Message, SqliteError> {
    let head = group_head(conn, change.room)?;
    conn.prepare_cached("UPDATE rooms SET name = ?2 WHERE id = ?1")?
        .execute((change.room.0.as_bytes(), name))?;
    let entry = change.entry(RoomEvent::Renamed { name: name.into() });
    let mut stored = record(conn, head, [entry])?;
    stored
        .pop()
        .ok_or(SqliteError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
}

//! The operators' SQL: listing every account and room, and the account-status and erasure
//! writes the writer thread runs.

use chat_core::id::{RoomId, UserId};
use chat_core::model::{
    Account, AccountStatus, DELETED_USER_NAME, ERASED_PASSWORD_HASH, Room, deleted_email,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::SqliteError;
use crate::queries::sql_limit;
use crate::rows::{self, room_columns, user_columns};

/// An operator's write, queued for the writer thread.
pub(crate) enum AdminWrite {
    /// Disable (true) or enable (false) an account that is not deleted.
    SetDisabled(UserId, bool),
    /// Erase an account's personal data; with `true`, blank its chat messages (text and
    /// attachments) too.
    Erase(UserId, bool),
}

impl AdminWrite {
    /// Runs the write inside the writer's transaction.
    pub(crate) fn run(self, conn: &Connection) -> Result<(), SqliteError> {
        match self {
            AdminWrite::SetDisabled(user, disabled) => set_disabled(conn, user, disabled),
            AdminWrite::Erase(user, purge) => erase(conn, user, purge),
        }
    }
}

fn status_of(conn: &Connection, user: UserId) -> Result<AccountStatus, SqliteError> {
    let text: Option<String> = conn
        .prepare_cached("SELECT status FROM users WHERE id = ?1")?
        .query_row([user.0.as_bytes()], |row| row.get(0))
        .optional()?;
    let text = text.ok_or(SqliteError::UserNotFound(user))?;
    Ok(AccountStatus::parse(&text).unwrap_or(AccountStatus::Active))
}

fn set_disabled(conn: &Connection, user: UserId, disabled: bool) -> Result<(), SqliteError> {
    if status_of(conn, user)? == AccountStatus::Deleted {
        return Err(SqliteError::UserDeleted(user));
    }
    let status = if disabled {
        AccountStatus::Disabled
    } else {
        AccountStatus::Active
    };
    conn.prepare_cached("UPDATE users SET status = ?2 WHERE id = ?1")?
        .execute((user.0.as_bytes(), status.as_str()))?;
    Ok(())
}

fn erase(conn: &Connection, user: UserId, purge: bool) -> Result<(), SqliteError> {
    status_of(conn, user)?;
    conn.prepare_cached(
        "UPDATE users SET email = ?2, name = ?3, name_folded = ?3, password_hash = ?4,
             status = ?5
         WHERE id = ?1",
    )?
    .execute(params![
        user.0.as_bytes(),
        deleted_email(user),
        DELETED_USER_NAME,
        ERASED_PASSWORD_HASH,
        AccountStatus::Deleted.as_str(),
    ])?;
    conn.prepare_cached("UPDATE messages SET sender_name = ?2 WHERE sender_id = ?1")?
        .execute((user.0.as_bytes(), DELETED_USER_NAME))?;
    conn.prepare_cached("DELETE FROM external_users WHERE user_id = ?1")?
        .execute([user.0.as_bytes()])?;
    if purge {
        conn.prepare_cached(
            "UPDATE messages SET text = '', client_id = NULL, client_key = NULL, attachments = NULL
             WHERE sender_id = ?1 AND event_kind IS NULL",
        )?
        .execute([user.0.as_bytes()])?;
    }
    Ok(())
}

/// Accounts after `after` by id, a range scan of the primary key.
pub(crate) fn accounts(
    conn: &Connection,
    after: Option<UserId>,
    limit: usize,
) -> rusqlite::Result<Vec<Account>> {
    let after: &[u8] = after.as_ref().map_or(&[], |after| after.0.as_bytes());
    conn.prepare_cached(concat!(
        "SELECT ",
        user_columns!(),
        ", status FROM users WHERE id > ?1 ORDER BY id LIMIT ?2"
    ))?
    .query_map(params![after, sql_limit(limit)], rows::account)?
    .collect()
}

/// One account.
pub(crate) fn account(conn: &Connection, id: UserId) -> rusqlite::Result<Option<Account>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        user_columns!(),
        ", status FROM users WHERE id = ?1"
    ))?
    .query_row([id.0.as_bytes()], rows::account)
    .optional()
}

/// Rooms after `after` by id, with their last message.
pub(crate) fn all_rooms(
    conn: &Connection,
    after: Option<RoomId>,
    limit: usize,
) -> rusqlite::Result<Vec<Room>> {
    let after: &[u8] = after.as_ref().map_or(&[], |after| after.0.as_bytes());
    conn.prepare_cached(concat!(
        "SELECT ",
        room_columns!(),
        crate::rows::rooms_with_last_message!(),
        " WHERE r.id > ?1 ORDER BY r.id LIMIT ?2"
    ))?
    .query_map(params![after, sql_limit(limit)], rows::room)?
    .collect()
}

//! Host-owned users: the `external_users` table maps each external id to one user.
//!
//! The writer thread runs the upsert inside its transaction, so the lookup, the user's
//! insert and the mapping's insert commit together; another process serializes on SQLite's
//! write lock, and the primary key on `external_id` keeps one user per external id.

use chat_core::model::{NewUser, User};
use rusqlite::{Connection, OptionalExtension};

use crate::error::SqliteError;
use crate::rows::{self, user_columns};
use crate::{queries, writes};

/// The user mapped to `external_id`, created from `user` when there is none, else renamed.
pub(crate) fn upsert(
    conn: &Connection,
    external_id: &str,
    user: NewUser,
) -> Result<User, SqliteError> {
    let mapped = conn
        .prepare_cached("SELECT user_id FROM external_users WHERE external_id = ?1")?
        .query_row([external_id], |row| rows::raw_id(row, 0))
        .optional()?;
    let Some(id) = mapped else {
        let created = writes::insert_user(conn, user)?;
        conn.prepare_cached("INSERT INTO external_users (external_id, user_id) VALUES (?1, ?2)")?
            .execute((external_id, created.id.0.as_bytes()))?;
        return Ok(created);
    };
    let id = chat_core::id::UserId(id);
    conn.prepare_cached("UPDATE users SET name = ?2, name_folded = ?3 WHERE id = ?1")?
        .execute((id.0.as_bytes(), &user.name, user.name.to_lowercase()))?;
    queries::user(conn, id)?.ok_or(SqliteError::UserNotFound(id))
}

/// The user mapped to `external_id`, if any.
pub(crate) fn user(conn: &Connection, external_id: &str) -> rusqlite::Result<Option<User>> {
    conn.prepare_cached(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = (SELECT user_id FROM external_users WHERE external_id = ?1)"
    ))?
    .query_row([external_id], rows::user)
    .optional()
}

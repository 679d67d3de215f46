//! Revocation state: the users' token generations and the sessions revoked one by one.
//!
//! `users.token_generation` is advanced in the same statement that may replace the password
//! hash, so a password change and the revocation of older tokens commit together.
//! `revoked_sessions` rows are kept until their token's expiry; each revocation sweeps that
//! user's expired rows.

use chat_core::id::{SessionId, UserId};
use chat_core::model::{Revocations, Timestamp, now};
use rusqlite::{Connection, OptionalExtension};

use crate::error::SqliteError;
use crate::rows;

/// A revocation, queued for the writer thread.
pub(crate) enum SessionWrite {
    /// Revoke one session until the given instant.
    Revoke(UserId, SessionId, Timestamp),
    /// Advance the generation, replacing the password hash when given.
    Advance(UserId, Option<String>),
}

impl SessionWrite {
    /// Runs the write; answers the new generation (0 for a single revocation).
    pub(crate) fn run(self, conn: &Connection) -> Result<u64, SqliteError> {
        match self {
            SessionWrite::Revoke(user, session, expires_at) => {
                conn.prepare_cached(
                    "DELETE FROM revoked_sessions WHERE user_id = ?1 AND expires_at <= ?2",
                )?
                .execute((user.0.as_bytes(), rows::millis(now())))?;
                conn.prepare_cached(
                    "INSERT OR REPLACE INTO revoked_sessions (user_id, session_id, expires_at)
                     VALUES (?1, ?2, ?3)",
                )?
                .execute((
                    user.0.as_bytes(),
                    session.0.as_bytes(),
                    rows::millis(expires_at),
                ))?;
                Ok(0)
            }
            SessionWrite::Advance(user, password_hash) => conn
                .prepare_cached(
                    "UPDATE users SET token_generation = token_generation + 1,
                         password_hash = COALESCE(?2, password_hash)
                     WHERE id = ?1 RETURNING token_generation",
                )?
                .query_row((user.0.as_bytes(), password_hash), |row| {
                    row.get::<_, i64>(0)
                })
                .optional()?
                .map(|generation| generation as u64)
                .ok_or(SqliteError::UserNotFound(user)),
        }
    }
}

/// The user's generation and unexpired revoked sessions.
pub(crate) fn revocations(conn: &Connection, user: UserId) -> rusqlite::Result<Revocations> {
    let generation: i64 = conn
        .prepare_cached("SELECT token_generation FROM users WHERE id = ?1")?
        .query_row([user.0.as_bytes()], |row| row.get(0))
        .optional()?
        .unwrap_or(0);
    let sessions = conn
        .prepare_cached(
            "SELECT session_id FROM revoked_sessions WHERE user_id = ?1 AND expires_at > ?2",
        )?
        .query_map((user.0.as_bytes(), rows::millis(now())), |row| {
            row.get(0)
                .map(|bytes| SessionId(chat_core::id::RawId::from_bytes(bytes)))
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(Revocations {
        generation: generation as u64,
        sessions,
    })
}

//! The crate's one error type, and how each failure maps onto the engine's error kinds.
//!
//! Callers of the store only ever see `chat_core::Error`; the mapping here is the one place
//! that looks at SQLite result codes.

use std::path::PathBuf;
use std::sync::Arc;

use chat_core::id::{RoomId, UserId};
use rusqlite::ErrorCode;
use rusqlite::ffi;

/// Everything that can go wrong in the SQLite store.
///
/// Kept separate from `chat_core::Error` so [`crate::SqliteStore::open`] can say precisely why
/// a database cannot be used; the trait methods convert it with the `From` impl below.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// A statement failed; constraint violations are told apart by their extended code.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A statement that several callers depended on failed (the group's `BEGIN` or `COMMIT`,
    /// or a checkpoint), so each of them gets the same error. Nothing of the group was stored.
    #[error("sqlite group commit: {0}")]
    Shared(#[source] Arc<rusqlite::Error>),
    /// The directory that should hold the database could not be created.
    #[error("cannot create directory {}: {source}", path.display())]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// A database file could not be created, inspected or given its permissions.
    #[error("cannot prepare {}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// [`crate::SqliteStore::open_existing`] found no database to open: the file is missing,
    /// empty, or was never initialized, as after a truncation or a deletion.
    #[error("the database {} is missing, empty or was never initialized", path.display())]
    Uninitialized {
        /// The database file.
        path: PathBuf,
    },
    /// The operating system refused to start one of the store's threads.
    #[error("cannot start a sqlite store thread: {0}")]
    SpawnWriter(#[source] std::io::Error),
    /// The database's schema version is not one this release knows, typically because a newer
    /// release has migrated it; opening it anyway could corrupt it.
    #[error("database schema version {found} is unknown (this release knows 0 to {supported})")]
    UnknownSchema {
        /// The database's `user_version`.
        found: i64,
        /// The newest version this release can migrate to.
        supported: i64,
    },
    /// A message was appended to a room that does not exist.
    #[error("room {0} not found")]
    RoomNotFound(RoomId),
    /// A group change was asked of a direct room.
    #[error("room {0} is not a group")]
    NotAGroup(RoomId),
    /// A membership change named a user who is not a member of the group.
    #[error("not a member of the group")]
    NotAMember,
    /// The group has no room for the members being added.
    #[error("the group is full")]
    RoomFull,
    /// A change named a message the room does not hold.
    #[error("message not found")]
    MessageNotFound,
    /// A change other than a deletion was asked of a deleted message.
    #[error("the message was deleted")]
    MessageDeleted,
    /// A reaction would give the message more distinct emoji than allowed.
    #[error("too many distinct reactions")]
    TooManyReactions,
    /// A revocation named a user that does not exist.
    #[error("user {0} not found")]
    UserNotFound(UserId),
    /// A write broke a rule the engine states for every store (attaching a file that may not
    /// be attached); carries the engine's error as is.
    #[error("{0}")]
    Refused(chat_core::Error),
    /// Only an active or disabled account can be enabled or disabled.
    #[error("user {0} is deleted")]
    UserDeleted(UserId),
    /// A file meant to be restored is not a chat database (or not a sound one).
    #[error("{} is not a chat database: {reason}", path.display())]
    NotADatabase {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The writer thread has stopped, so writes cannot be served.
    #[error("the sqlite writer thread is gone")]
    WriterGone,
    /// The search indexer thread has stopped, so searches cannot be brought up to date.
    #[error("the sqlite search indexer thread is gone")]
    IndexerGone,
    /// A read panicked or was cancelled on its blocking thread.
    #[error("sqlite read task failed: {0}")]
    Reader(#[from] tokio::task::JoinError),
}

impl From<SqliteError> for chat_core::Error {
    fn from(error: SqliteError) -> Self {
        let error = match error {
            SqliteError::Refused(refusal) => return refusal,
            other => other,
        };
        match &error {
            SqliteError::RoomNotFound(_) => chat_core::Error::NotFound("room not found".into()),
            SqliteError::NotAGroup(_) => chat_core::Error::Invalid(error.to_string()),
            SqliteError::NotAMember => chat_core::Error::NotFound(error.to_string()),
            SqliteError::RoomFull => chat_core::Error::Conflict(error.to_string()),
            SqliteError::UserNotFound(_) => chat_core::Error::NotFound("user not found".into()),
            SqliteError::MessageNotFound => chat_core::Error::NotFound(error.to_string()),
            SqliteError::MessageDeleted | SqliteError::TooManyReactions => {
                chat_core::Error::Conflict(error.to_string())
            }
            SqliteError::UserDeleted(_) => chat_core::Error::Invalid(error.to_string()),
            SqliteError::Sqlite(sqlite) => match constraint_code(sqlite) {
                Some(ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY) => {
                    chat_core::Error::Conflict(conflict_message(sqlite).into())
                }
                Some(ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => {
                    chat_core::Error::NotFound("the user or room referred to does not exist".into())
                }
                _ => chat_core::Error::unavailable("sqlite store", error),
            },
            _ => chat_core::Error::unavailable("sqlite store", error),
        }
    }
}

impl SqliteError {
    /// Whether an insert found its room's seq taken: the head it followed was behind.
    pub(crate) fn is_taken_seq(&self) -> bool {
        match self {
            SqliteError::Sqlite(error @ rusqlite::Error::SqliteFailure(_, Some(message))) => {
                constraint_code(error) == Some(ffi::SQLITE_CONSTRAINT_UNIQUE)
                    && message.contains("messages.room_id, messages.seq")
            }
            _ => false,
        }
    }
}

/// The extended result code of a constraint violation, `None` for any other failure.
fn constraint_code(error: &rusqlite::Error) -> Option<i32> {
    match error.sqlite_error() {
        Some(failure) if failure.code == ErrorCode::ConstraintViolation => {
            Some(failure.extended_code)
        }
        _ => None,
    }
}

/// Words for a client: the one unique key users can collide on by themselves is the email;
/// any other collision (a reused id) is reported generically.
fn conflict_message(error: &rusqlite::Error) -> &'static str {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(message)) if message.contains("users.email") => {
            "email already registered"
        }
        _ => "already exists",
    }
}

//! The crate's one error type, and its classification into the core's kinds.
//!
//! Callers of the store only ever see `chat_core::Error`; the driver error rides along as the
//! source so logs keep the server's code and message.

use std::time::Duration;

use mongodb::bson::document::ValueAccessError;
use mongodb::error::{ErrorKind, WriteFailure};

/// Everything that can go wrong in this store.
#[derive(Debug, thiserror::Error)]
pub enum MongoError {
    /// The driver or the server reported a failure.
    #[error(transparent)]
    Driver(#[from] mongodb::error::Error),
    /// The server did not answer within the operation deadline; a hung server must not hang
    /// the request that is waiting on it.
    #[error("mongodb did not answer within {0:?}")]
    Timeout(Duration),
    /// The room a message was sent to does not exist.
    #[error("room not found")]
    RoomNotFound,
    /// A user that a mapping names is gone (erased by something other than this crate).
    #[error("user not found")]
    UserNotFound,
    /// A group change was asked of a direct room.
    #[error("not a group room")]
    NotAGroup,
    /// A membership change named a user who is not a member of the group.
    #[error("not a member of the group")]
    NotAMember,
    /// The group has no room for the members being added.
    #[error("the group is full")]
    RoomFull,
    /// A message id that is already taken by another message; the engine makes fresh ids, so
    /// this only happens when something else writes to the collection.
    #[error("message id already used")]
    MessageIdTaken,
    /// A change named a message the room does not hold.
    #[error("message not found")]
    MessageNotFound,
    /// A change other than a deletion was asked of a deleted message.
    #[error("the message was deleted")]
    MessageDeleted,
    /// A reaction would give the message more distinct emoji than allowed.
    #[error("too many distinct reactions")]
    TooManyReactions,
    /// A stored document lacks a field or holds the wrong type: something other than this crate
    /// wrote it.
    #[error("malformed document in {collection}")]
    Malformed {
        /// The collection the document came from.
        collection: &'static str,
        /// Which field was wrong.
        #[source]
        source: ValueAccessError,
    },
    /// The task that groups inserts has stopped, so nothing queued was sent.
    #[error("the mongodb insert task has stopped")]
    InsertsStopped,
    /// A failure shared by every document of one grouped insert.
    #[error("grouped insert failed: {0}")]
    Batch(#[source] std::sync::Arc<MongoError>),
    /// Appends to one room kept colliding with other servers' appends past the retry bound.
    #[error("too many concurrent appends to one room")]
    Contention,
}

/// Server codes of a unique-index violation: 11000 today, 11001 and 12582 from older servers.
const DUPLICATE_KEY_CODES: [i32; 3] = [11000, 11001, 12582];

impl MongoError {
    /// True when a unique index refused the write, which the store turns into a retry, an
    /// idempotent answer or a conflict.
    pub(crate) fn is_duplicate_key(&self) -> bool {
        let MongoError::Driver(error) = self else {
            return false;
        };
        match error.kind.as_ref() {
            ErrorKind::Write(WriteFailure::WriteError(write)) => {
                DUPLICATE_KEY_CODES.contains(&write.code)
            }
            ErrorKind::InsertMany(insert) => insert
                .write_errors
                .iter()
                .flatten()
                .any(|write| DUPLICATE_KEY_CODES.contains(&write.code)),
            ErrorKind::Command(command) => DUPLICATE_KEY_CODES.contains(&command.code),
            _ => false,
        }
    }

    /// For an ordered `insert_many` that stopped on an error: how many documents, from the
    /// start, the server stored before it. `None` when that is unknown.
    pub(crate) fn inserted_prefix(&self) -> Option<usize> {
        let MongoError::Driver(error) = self else {
            return None;
        };
        match error.kind.as_ref() {
            ErrorKind::InsertMany(insert) => insert
                .write_errors
                .as_ref()?
                .iter()
                .map(|write| write.index)
                .min(),
            _ => None,
        }
    }
}

impl From<MongoError> for chat_core::Error {
    fn from(error: MongoError) -> Self {
        match error {
            error if error.is_duplicate_key() => {
                chat_core::Error::Conflict("already exists".into())
            }
            MongoError::Driver(driver)
                if matches!(*driver.kind, ErrorKind::InvalidArgument { .. }) =>
            {
                chat_core::Error::Invalid(driver.to_string())
            }
            MongoError::RoomNotFound => chat_core::Error::NotFound("room not found".into()),
            MongoError::NotAGroup => chat_core::Error::Invalid(error.to_string()),
            MongoError::UserNotFound => chat_core::Error::NotFound(error.to_string()),
            MongoError::NotAMember => chat_core::Error::NotFound(error.to_string()),
            MongoError::RoomFull => chat_core::Error::Conflict(error.to_string()),
            MongoError::MessageIdTaken
            | MongoError::MessageDeleted
            | MongoError::TooManyReactions => chat_core::Error::Conflict(error.to_string()),
            MongoError::MessageNotFound => chat_core::Error::NotFound(error.to_string()),
            // Connection refused or reset, no server selectable, timeouts, a primary stepping
            // down, malformed documents and contention: the store could not do its job, nothing
            // was acknowledged, and a retry may succeed.
            other => chat_core::Error::unavailable("database", other),
        }
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::{doc, from_document};
    use mongodb::error::{ErrorKind, WriteError, WriteFailure};

    use super::*;

    fn write_error(code: i32) -> MongoError {
        let write: WriteError = from_document(doc! { "code": code, "errmsg": "refused" }).unwrap();
        MongoError::Driver(ErrorKind::Write(WriteFailure::WriteError(write)).into())
    }

    #[test]
    fn each_failure_has_the_kind_a_caller_can_act_on() {
        let kind = |error: MongoError| chat_core::Error::from(error).code();
        assert_eq!(kind(write_error(11000)), "conflict");
        assert_eq!(kind(write_error(121)), "unavailable");
        assert_eq!(kind(MongoError::RoomNotFound), "not_found");
        assert_eq!(
            kind(MongoError::Timeout(Duration::from_secs(1))),
            "unavailable"
        );
        let io = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert_eq!(kind(MongoError::Driver(io.into())), "unavailable");
    }

    #[test]
    fn the_driver_error_stays_reachable_as_the_source() {
        let error = chat_core::Error::from(write_error(121));
        let source = std::error::Error::source(&error).expect("a source");
        assert!(source.to_string().contains("refused"), "{source}");
    }
}

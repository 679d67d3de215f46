//! Why the store, the token secret or the data dir's lock could not be opened.

use std::path::PathBuf;

/// Opening the configured store or the secret failed; the driver or I/O error is the source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The embedded SQLite store could not be opened.
    #[error("cannot open the store at {}", path.display())]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: chat_store_sqlite::SqliteError,
    },
    /// The MongoDB deployment could not be reached.
    #[error("cannot connect to MongoDB database {database}")]
    Mongo {
        /// The database name.
        database: String,
        /// What the driver said.
        #[source]
        source: chat_store_mongo::MongoError,
    },
    /// The directory of uploaded files could not be opened.
    #[error("cannot open the file directory {}", path.display())]
    Files {
        /// The directory.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: chat_core::Error,
    },
    /// The data dir could not be created, inspected or restricted to its owner.
    #[error("cannot {action} {}", path.display())]
    DataDir {
        /// What was being done: `create`, `inspect`, `restrict to its owner`.
        action: &'static str,
        /// The data dir.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The data dir has a token secret, so it was used before, but its embedded database is
    /// missing or empty: it was probably truncated, replaced or deleted, and starting would
    /// silently serve an empty store.
    #[error(
        "the database {} is missing or empty, but the token secret {} shows this data dir was \
         used before: the database was probably truncated, replaced or deleted. Restore it \
         from a backup, or pass --allow-empty-store (CHAT_ALLOW_EMPTY_STORE=true) to start \
         over with an empty store",
        path.display(),
        secret.display()
    )]
    EmptyStore {
        /// The database file.
        path: PathBuf,
        /// The secret file that says the data dir was used.
        secret: PathBuf,
    },
    /// The data dir's lock file could not be opened or locked.
    #[error("cannot lock {}", path.display())]
    Lock {
        /// The lock file.
        path: std::path::PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Another process holds the data dir's lock: a server while a restore is asked for, or
    /// a restore while a server starts.
    #[error(
        "{} is in use: a `chat serve` runs on it (stop it before restoring) or a `chat restore` \
         is under way",
        dir.display()
    )]
    Locked {
        /// The data dir.
        dir: PathBuf,
    },
    /// The secret file (or its data dir) could not be read or written.
    #[error("cannot {action} {}", path.display())]
    Secret {
        /// What was being done: `create`, `create data dir`.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

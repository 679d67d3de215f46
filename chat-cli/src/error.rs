//! Why the store or the token secret could not be opened.

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

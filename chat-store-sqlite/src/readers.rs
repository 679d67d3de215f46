//! The read pool: a few read-only connections, used on tokio's blocking threads so a query
//! never stalls an async worker.
//!
//! In WAL mode a reader sees every transaction committed before its statement starts and never
//! waits for the writer, so reads scale with the pool while writes queue for the writer thread.
//! Connections are opened on first need and kept; a semaphore bounds how many exist and how
//! many blocking threads reads occupy.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use crate::error::SqliteError;
use crate::{schema, search_db};

/// Read-only connections to one database, shared by the store's read methods.
pub(crate) struct Readers {
    path: PathBuf,
    /// One permit per connection that may exist, idle or leased.
    permits: Arc<Semaphore>,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    /// A pool of at most `size` connections to the database at `path`, which must exist.
    pub(crate) fn new(path: &Path, size: usize) -> Arc<Self> {
        Arc::new(Readers {
            path: path.to_owned(),
            permits: Arc::new(Semaphore::new(size)),
            idle: Mutex::new(Vec::with_capacity(size)),
        })
    }

    /// Runs `query` on a pooled connection on a blocking thread, once one is free.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, query: F) -> Result<T, SqliteError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .expect("the read semaphore is never closed");
        let readers = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let lease = readers.lease()?;
            let result = query(lease.connection());
            drop(lease);
            drop(permit);
            Ok(result?)
        })
        .await?
    }

    /// An idle connection, or a new one when all that exist are leased (the caller holds a
    /// permit, so the pool never grows past its size).
    fn lease(&self) -> Result<Lease<'_>, SqliteError> {
        let idle = self.idle().pop();
        let connection = match idle {
            Some(connection) => connection,
            None => self.open()?,
        };
        Ok(Lease {
            readers: self,
            connection: Some(connection),
        })
    }

    /// A new read-only connection, with the search index attached for searches.
    fn open(&self) -> Result<Connection, SqliteError> {
        let conn = schema::open_reader(&self.path)?;
        search_db::attach(&conn, &search_db::path(&self.path))?;
        Ok(conn)
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A connection taken from the pool; goes back on drop, even when the query panicked.
struct Lease<'a> {
    readers: &'a Readers,
    connection: Option<Connection>,
}

impl Lease<'_> {
    fn connection(&self) -> &Connection {
        self.connection
            .as_ref()
            .expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.readers.idle().push(connection);
        }
    }
}

//! The store's own threads (writer, indexer, checkpointer, reminder, warmer), each joined when
//! its owner is dropped, so that by the time a store's drop returns every connection it opened
//! is closed and the database file can be reopened or removed.

use std::thread::JoinHandle;

use crate::error::SqliteError;

/// A named thread, joined on drop. An owner that must first tell the thread to stop (by
/// dropping a channel) declares that channel before this field, so it is dropped first.
pub(crate) struct Joined {
    name: &'static str,
    thread: Option<JoinHandle<()>>,
}

impl Joined {
    /// Starts `body` on a thread called `name`.
    pub(crate) fn spawn(
        name: &'static str,
        body: impl FnOnce() + Send + 'static,
    ) -> Result<Joined, SqliteError> {
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(body)
            .map_err(SqliteError::SpawnWriter)?;
        Ok(Joined {
            name,
            thread: Some(thread),
        })
    }
}

impl Drop for Joined {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!(thread = self.name, "a sqlite store thread panicked");
        }
    }
}

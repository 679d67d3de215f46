//! The warmer thread: reads the rooms' newest idempotency keys at start, off the writer.
//!
//! A writer that starts on a busy database needs each room's recent keys before it can check
//! that room's next resend (`recent_keys`). Read room by room on the writer, that is a page per
//! entry while every room's sends wait; read here, it is one walk down the table on a read-only
//! connection (370 ms for a million rows in the OS cache, seconds from a cold disk), and the
//! writer serves meanwhile, reading the windows of the rooms it needs first itself. It adopts
//! the result once it is ready; what changed since, it reads back as for any other process's
//! appends.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use crate::error::SqliteError;
use crate::recent_keys::RecentKeys;
use crate::threads::Joined;
use crate::{rows, schema};

/// The writer's handle on the thread: dropping it cuts the walk short and waits for it.
pub(crate) struct Warmer {
    /// Dropped first, which tells the walk to stop.
    _stop: Sender<()>,
    warmed: Receiver<RecentKeys>,
    _thread: Joined,
}

impl Warmer {
    /// Starts the walk over the database at `path`.
    pub(crate) fn spawn(path: &Path) -> Result<Warmer, SqliteError> {
        let path = path.to_owned();
        let (stop, stopped) = mpsc::channel::<()>();
        let (done, warmed) = mpsc::channel();
        let thread = Joined::spawn("chat-sqlite-warmer", move || {
            let started = std::time::Instant::now();
            let mut keys = RecentKeys::new();
            let walked = schema::open_reader(&path).and_then(|conn| {
                let now = rows::millis(chat_core::model::now());
                let go_on = || matches!(stopped.try_recv(), Err(TryRecvError::Empty));
                Ok(keys.warm(&conn, now, go_on)?)
            });
            match walked {
                Ok(Some(rows)) => {
                    tracing::info!(
                        rows,
                        ms = started.elapsed().as_millis(),
                        "read the rooms' newest idempotency keys"
                    );
                    let _ = done.send(keys);
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::error!(%error, "cannot read the rooms' newest idempotency keys");
                }
            }
        })?;
        Ok(Warmer {
            _stop: stop,
            warmed,
            _thread: thread,
        })
    }

    /// The keys read, once the walk is over; `None` before, and after they were taken.
    pub(crate) fn take(&self) -> Option<RecentKeys> {
        self.warmed.try_recv().ok()
    }
}

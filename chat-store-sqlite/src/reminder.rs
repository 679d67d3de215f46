//! The reminder thread: asks an idle writer to store its pending read positions.
//!
//! The writer stores senders' read positions with its next group once they are due
//! (`read_marks`). A writer that then gets no more writes would keep them in memory for as
//! long as it stays idle: right for this process's readers, which see them, and for a restart,
//! which stores them, but another process on the same file would see those senders' positions
//! late for as long. So every [`STORE_EVERY`] this thread queues [`Command::StoreReadMarks`]
//! while positions are pending. It holds the queue weakly, so it never keeps the writer alive.

use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};

use tokio::sync::mpsc::WeakSender;

use crate::error::SqliteError;
use crate::read_marks::{ReadMarks, STORE_EVERY};
use crate::threads::Joined;
use crate::writer::Command;

/// The writer's handle on the thread: dropping it stops the thread and waits for it.
pub(crate) struct Reminder {
    /// Dropped first, which wakes the thread to stop.
    _stop: Sender<()>,
    _thread: Joined,
}

impl Reminder {
    /// Starts the thread, reminding the writer behind `queue` of the positions in `marks`.
    pub(crate) fn spawn(
        queue: WeakSender<Command>,
        marks: Arc<ReadMarks>,
    ) -> Result<Reminder, SqliteError> {
        let (stop, stopped) = mpsc::channel();
        let thread = Joined::spawn("chat-sqlite-reminder", move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(STORE_EVERY) {
                if !marks.any() {
                    continue;
                }
                let Some(queue) = queue.upgrade() else {
                    return;
                };
                // A full queue means a busy writer, which stores them with its next group.
                let _ = queue.try_send(Command::StoreReadMarks);
            }
        })?;
        Ok(Reminder {
            _stop: stop,
            _thread: thread,
        })
    }
}

//! The checkpointer thread: copies the WAL back into the database file on a connection of its
//! own, so the writer thread never stops committing to do it.
//!
//! The writer runs with `wal_autocheckpoint = 0` and nudges this thread after each commit. A
//! nudge starts a PASSIVE checkpoint, which copies what readers no longer need without taking
//! any lock the writer waits on; then the thread rests for [`REST`] so that under load the
//! database file is fsynced a few times a second, not once per commit. Under sustained load a
//! PASSIVE checkpoint never catches up with a WAL that keeps growing, and SQLite only rewinds a
//! WAL that is fully copied; past [`RESTART_FRAMES`] the thread runs a RESTART checkpoint, which
//! makes the writer wait while it copies the last frames, so the next commit starts the WAL
//! from its beginning again (and `journal_size_limit` trims the file). It does so only when the
//! PASSIVE checkpoint just before left at most [`RESTART_BACKLOG`] frames uncopied: on a core
//! shared with the writer the checkpoints can fall far behind, and a RESTART that must copy
//! that backlog holds every commit for seconds (measured: 2x-capacity steps stalled 2–9 s).
//! Until the backlog is small again the WAL grows instead.
//!
//! Each checkpoint is timed for operators (`chat_store_checkpoint_seconds`, by mode). Most of
//! one is the database file's sync, and a RESTART holds every commit for that long: 6–25 ms on
//! the test machine, every second or two under load (BENCHMARKS.md).

use std::path::Path;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::error::SqliteError;
use crate::schema;
use crate::threads::Joined;

/// Uncopied WAL frames (4 MiB of pages) a RESTART may have to copy while the writer waits.
const RESTART_BACKLOG: i64 = 1_024;

/// The least time between two checkpoints.
const REST: Duration = Duration::from_millis(100);

/// WAL frames (pages) past which a checkpoint makes the writer wait so the WAL can rewind:
/// 64 MiB of 4 KiB pages.
const RESTART_FRAMES: i64 = 16_384;

/// The writer's side: nudges the thread, and stops it (waiting for it) when dropped.
pub(crate) struct Checkpointer {
    /// Dropped first, which ends the thread's loop.
    nudge: SyncSender<()>,
    _thread: Joined,
}

impl Checkpointer {
    /// Opens a connection to the database at `path` and starts the thread on it.
    pub(crate) fn spawn(path: &Path) -> Result<Checkpointer, SqliteError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        schema::configure_checkpointer(&conn)?;
        let (nudge, nudges) = mpsc::sync_channel(1);
        let thread = Joined::spawn("chat-sqlite-checkpointer", move || run(&conn, &nudges))?;
        Ok(Checkpointer {
            nudge,
            _thread: thread,
        })
    }

    /// Tells the thread that something was committed; never blocks (a nudge already waiting
    /// stands for this one).
    pub(crate) fn nudge(&self) {
        if let Err(TrySendError::Disconnected(())) = self.nudge.try_send(()) {
            tracing::error!("the sqlite checkpointer thread has stopped");
        }
    }
}

/// Checkpoints after each nudge, resting between checkpoints, until the writer is gone.
fn run(conn: &Connection, nudges: &Receiver<()>) {
    while nudges.recv().is_ok() {
        match checkpoint(conn, Mode::Passive) {
            Ok(wal) if wal.frames >= RESTART_FRAMES && wal.uncopied() <= RESTART_BACKLOG => {
                if let Err(error) = checkpoint(conn, Mode::Restart) {
                    let frames = wal.frames;
                    tracing::warn!(%error, frames, "sqlite WAL restart checkpoint failed");
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "sqlite checkpoint failed"),
        }
        std::thread::sleep(REST);
    }
}

/// The WAL as a checkpoint left it.
struct Wal {
    /// Frames the WAL holds.
    frames: i64,
    /// Frames copied into the database file.
    copied: i64,
}

impl Wal {
    fn uncopied(&self) -> i64 {
        self.frames - self.copied
    }
}

/// The checkpoints this thread runs.
#[derive(Clone, Copy)]
enum Mode {
    /// Copies what no reader needs, never holding the writer.
    Passive,
    /// Holds the writer until everything is copied, so the WAL starts over.
    Restart,
}

impl Mode {
    fn pragma(self) -> &'static str {
        match self {
            Mode::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
            Mode::Restart => "PRAGMA wal_checkpoint(RESTART)",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Mode::Passive => "passive",
            Mode::Restart => "restart",
        }
    }
}

/// Runs one checkpoint in `mode`, timing it for the operators' metrics.
fn checkpoint(conn: &Connection, mode: Mode) -> rusqlite::Result<Wal> {
    let started = Instant::now();
    let wal = conn.query_row(mode.pragma(), [], |row| {
        Ok(Wal {
            frames: row.get(1)?,
            copied: row.get(2)?,
        })
    });
    chat_core::metrics::store_checkpoint("sqlite", mode.label(), started.elapsed());
    wal
}

//! The indexer thread: keeps the search index (`search_db`) up to date on a connection of its
//! own, so the writer never indexes.
//!
//! Before V15 the writer indexed every 512 appends inside the chat database's write lock, and
//! every send waited while it did: a median 2.4 ms, up to 30 ms when FTS5 merged segments
//! (BENCHMARKS.md). Now the writer only counts its appends and nudges this thread every
//! [`INDEX_EVERY`]; the index file has its own write lock, so commits go on meanwhile. A search
//! asks the thread to catch up first, so it still sees every acknowledged message.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvError, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::error::SqliteError;
use crate::search_db;
use crate::search_index;
use crate::threads::Joined;
use crate::writer::Reply;

/// Appends after which the thread indexes without waiting for a search: FTS5 pays a fixed
/// cost per transaction, so fewer, larger passes cost less in all; 512 keeps one pass to a few
/// milliseconds.
const INDEX_EVERY: usize = 512;

/// How long the thread waits before it tries again to sync changes a checkpoint could not
/// copy whole (a reader held part of the index's WAL).
const SYNC_RETRY: Duration = Duration::from_secs(1);

/// What the writer asks of the thread.
enum Request {
    /// Enough was appended: index it.
    Index,
    /// Answer once everything committed so far is indexed.
    CatchUp(Reply<()>),
}

/// The writer's side: asks the thread for passes, and stops it (waiting for it) when dropped.
pub(crate) struct Indexer {
    /// Dropped first, which ends the thread's loop.
    requests: Sender<Request>,
    /// Appends since the last request for a pass.
    unindexed: usize,
    /// The last change the index has applied and synced, which the writer may forget.
    synced_changes: Arc<AtomicI64>,
    _thread: Joined,
}

impl Indexer {
    /// Opens the index of the database at `database` (creating it if missing), starts it
    /// over if it does not match the database, and starts the thread, which first indexes
    /// whatever is pending. Runs before the writer takes any write, so the check sees the
    /// database as it was opened.
    pub(crate) fn spawn(database: &Path) -> Result<Indexer, SqliteError> {
        let mut conn = search_db::open_indexer(database)?;
        let rebuilds = search_index::reconcile(&mut conn)?;
        if rebuilds {
            tracing::info!("building the search index from the stored messages");
        }
        let (requests, waiting) = mpsc::channel();
        let synced_changes = Arc::new(AtomicI64::new(0));
        let synced = Arc::clone(&synced_changes);
        let thread = Joined::spawn("chat-sqlite-indexer", move || {
            run(conn, &waiting, &synced, rebuilds);
        })?;
        Ok(Indexer {
            requests,
            unindexed: 0,
            synced_changes,
            _thread: thread,
        })
    }

    /// Counts `appends` more appended messages, and asks for a pass once they add up to
    /// [`INDEX_EVERY`]. Never blocks.
    pub(crate) fn appended(&mut self, appends: usize) {
        self.unindexed += appends;
        if self.unindexed >= INDEX_EVERY {
            self.unindexed = 0;
            if self.requests.send(Request::Index).is_err() {
                tracing::error!("the sqlite search indexer has stopped");
            }
        }
    }

    /// Asks the thread to answer `reply` once everything committed so far is indexed.
    pub(crate) fn catch_up(&self, reply: Reply<()>) {
        if let Err(mpsc::SendError(Request::CatchUp(reply))) =
            self.requests.send(Request::CatchUp(reply))
        {
            let _ = reply.send(Err(SqliteError::IndexerGone));
        }
    }

    /// The last entry of `search_changes` the index has applied and synced.
    pub(crate) fn synced_changes(&self) -> i64 {
        self.synced_changes.load(Ordering::Acquire)
    }
}

/// Runs a pass for each batch of requests, until the writer is gone; a first pass catches up
/// with whatever is pending (all of the history when the index `rebuilds`). While applied
/// changes wait to be synced, the thread tries again every [`SYNC_RETRY`].
fn run(mut conn: Connection, waiting: &Receiver<Request>, synced: &AtomicI64, rebuilds: bool) {
    let started = Instant::now();
    let mut committed = 0;
    if index(&mut conn, &mut committed).is_ok() && rebuilds {
        let ms = started.elapsed().as_millis();
        tracing::info!(ms, "built the search index");
    }
    sync(&conn, committed, synced);
    loop {
        let request = if committed > synced.load(Ordering::Acquire) {
            match waiting.recv_timeout(SYNC_RETRY) {
                Ok(request) => Some(request),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        } else {
            match waiting.recv() {
                Ok(request) => Some(request),
                Err(RecvError) => return,
            }
        };
        if let Some(first) = request {
            let mut replies = Vec::new();
            for request in std::iter::once(first).chain(waiting.try_iter()) {
                if let Request::CatchUp(reply) = request {
                    replies.push(reply);
                }
            }
            let indexed = index(&mut conn, &mut committed).map_err(Arc::new);
            for reply in replies {
                let _ = reply.send(indexed.clone().map_err(SqliteError::Shared));
            }
        }
        sync(&conn, committed, synced);
    }
}

/// Indexes everything pending, timing it (`chat_store_index_seconds`), and notes in
/// `committed` how far the changes went; a failure is logged, and what it left is pending for
/// the next pass.
fn index(conn: &mut Connection, committed: &mut i64) -> rusqlite::Result<()> {
    let started = Instant::now();
    match search_index::index_pending(conn) {
        Ok(changes) => {
            chat_core::metrics::store_index("sqlite", started.elapsed());
            *committed = changes;
            Ok(())
        }
        Err(error) => {
            tracing::error!(%error, "cannot index new messages for search");
            Err(error)
        }
    }
}

/// Tells the writer it may forget the changes up to `committed` once they are on disk. The
/// index's commits are not synced one by one (`synchronous=NORMAL`: a power loss may roll the
/// index back, and it then applies the changes again), but a checkpoint that copies the whole
/// WAL into the file syncs it; one runs only while changes wait, which edits make rare.
fn sync(conn: &Connection, committed: i64, synced: &AtomicI64) {
    if committed <= synced.load(Ordering::Acquire) {
        return;
    }
    let checkpoint = conn.query_row("PRAGMA search.wal_checkpoint(PASSIVE)", [], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            row.get::<_, i64>(1)?,
            row.get::<_, i64>(2)?,
        ))
    });
    match checkpoint {
        Ok((0, frames, copied)) if frames == copied => synced.store(committed, Ordering::Release),
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "sqlite search index checkpoint failed"),
    }
}

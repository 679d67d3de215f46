//! The writer thread and its group commit.
//!
//! One OS thread owns the only read-write connection that writes rows. Callers queue a
//! [`Command`] with a oneshot for the answer. The thread takes everything waiting (up to
//! [`MAX_GROUP`], the whole queue), runs the writes in one `BEGIN IMMEDIATE` transaction, each
//! inside its own savepoint (or, for an append, as one statement, which SQLite undoes alone)
//! so a failing write undoes only itself, commits once, and only then answers every caller
//! (sent from a task on the runtime, [`Answerer`]).
//! A commit costs the same for one row or a thousand, so under load each commit carries more
//! writes and throughput rises instead of collapsing; when idle, a lone write commits at once.
//! A busy writer holding a small group waits a moment for more first ([`Linger`]). What each
//! write runs in its group, and how its answer waits for the commit, is in `write`.
//!
//! Everything that must be atomic with respect to other writers (seq assignment, the
//! idempotency check, one room per pair) happens inside the transaction, which holds SQLite's
//! write lock, so it also holds against other processes writing the same file.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use crate::answerer::Answerer;
use crate::checkpointer::Checkpointer;
use crate::error::SqliteError;
use crate::indexer::Indexer;
use crate::linger::{DEFAULT_PAUSE, Linger};
use crate::read_marks::{self, ReadMarks, StoreClock};
use crate::recent_keys::RecentKeys;
use crate::reminder::Reminder;
use crate::search_index;
use crate::threads::Joined;
use crate::warmer::Warmer;
use crate::write::{Answer, GroupMarks, Write, isolated};

/// Writes waiting for the thread before callers wait for room in the queue.
const QUEUE: usize = 8192;
/// The most commands one transaction carries: everything the queue can hold, so a backlog
/// commits at once (the cost of a commit grows with the pages it touches, not its rows).
const MAX_GROUP: usize = QUEUE;

/// How long a flush keeps trying to checkpoint while another checkpoint runs.
const FLUSH_PATIENCE: Duration = Duration::from_secs(5);

/// Where a command's outcome goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, SqliteError>>;

/// What callers queue for the writer thread.
pub(crate) enum Command {
    /// A write, run in the next group transaction.
    Write(Write),
    /// Answer once everything queued before is committed and checkpointed into the database
    /// file.
    Flush(Reply<()>),
    /// Answer once everything committed so far is in the search index.
    IndexSearch(Reply<()>),
    /// Store the pending read positions if they are due: the reminder's nudge to an idle
    /// writer.
    StoreReadMarks,
}

/// The handle the store keeps: the queue into the thread, and the thread itself.
///
/// Fields drop in order: the queue first, which ends the thread's loop once it has answered
/// what was queued, then the reminder, then the thread guard, which waits for the thread to
/// close the database.
pub(crate) struct Writer {
    queue: mpsc::Sender<Command>,
    _reminder: Reminder,
    /// How long the thread's pauses last, in microseconds ([`Linger`]).
    pause_us: Arc<AtomicU64>,
    /// Waited for on drop, so the database is closed by the time the store's drop returns.
    _thread: Joined,
}

impl Writer {
    /// Starts the thread on an open, configured, migrated connection to the database at
    /// `path`, with its checkpointer; it records its senders' read positions in `marks`.
    pub(crate) fn spawn(
        conn: Connection,
        path: &Path,
        marks: Arc<ReadMarks>,
    ) -> Result<Writer, SqliteError> {
        let indexer = Indexer::spawn(path)?;
        let checkpointer = Checkpointer::spawn(path)?;
        let warmer = Warmer::spawn(path)?;
        let (queue, commands) = mpsc::channel(QUEUE);
        let reminder = Reminder::spawn(queue.downgrade(), Arc::clone(&marks))?;
        let pause_us = Arc::new(AtomicU64::new(micros(DEFAULT_PAUSE)));
        let pauses = Arc::clone(&pause_us);
        let answerer = Answerer::on_current_runtime();
        let thread = Joined::spawn("chat-sqlite-writer", move || {
            run(
                conn,
                commands,
                (checkpointer, warmer, indexer),
                &pauses,
                (&marks, &answerer),
            );
        })?;
        Ok(Writer {
            queue,
            _reminder: reminder,
            pause_us,
            _thread: thread,
        })
    }

    /// Sets how long the thread's pauses last from its next group on; zero turns them off.
    pub(crate) fn set_pause(&self, pause: Duration) {
        self.pause_us.store(micros(pause), Ordering::Relaxed);
    }

    /// Queues the command built around a fresh reply channel and waits for its answer.
    pub(crate) async fn call<T>(
        &self,
        command: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, SqliteError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(command(reply))
            .await
            .map_err(|_| SqliteError::WriterGone)?;
        answer.await.map_err(|_| SqliteError::WriterGone)?
    }

    /// Whether the thread still takes commands.
    pub(crate) fn is_running(&self) -> bool {
        !self.queue.is_closed()
    }
}

/// The thread's loop: take what is waiting, write it as one group, repeat until the store is
/// dropped; then store the pending read positions and stop the indexer, the checkpointer and
/// the warmer before the connection closes, so the writer's is the last connection and
/// removes the WAL.
fn run(
    mut conn: Connection,
    mut commands: mpsc::Receiver<Command>,
    (checkpointer, warmer, mut indexer): (Checkpointer, Warmer, Indexer),
    pause_us: &AtomicU64,
    (marks, answerer): (&ReadMarks, &Answerer),
) {
    keep_books_alone(&mut conn, marks, Bookkeeping::due(&indexer));
    let mut clock = StoreClock::new();
    let mut group = Vec::with_capacity(MAX_GROUP);
    let mut linger = Linger::new();
    let mut keys = RecentKeys::new();
    while commands.blocking_recv_many(&mut group, MAX_GROUP) > 0 {
        if let Some(warmed) = warmer.take() {
            keys.adopt(warmed);
        }
        let pause = Duration::from_micros(pause_us.load(Ordering::Relaxed));
        if let Some(pause) = linger.pause(group.len(), pause) {
            std::thread::sleep(pause);
            take_waiting(&mut commands, &mut group);
        }
        linger.gathered(group.len());
        let start = std::time::Instant::now();
        let mut flushes = Vec::new();
        let mut index_requests = Vec::new();
        let mut reminded = false;
        let mut writes = Vec::with_capacity(group.len());
        for command in group.drain(..) {
            match command {
                Command::Write(write) => writes.push(write),
                Command::Flush(reply) => flushes.push(reply),
                Command::IndexSearch(reply) => index_requests.push(reply),
                Command::StoreReadMarks => reminded = true,
            }
        }
        if !writes.is_empty() {
            let appends = writes
                .iter()
                .filter(|write| matches!(write, Write::Append(..)))
                .count();
            let due = clock.due(marks, start) || writes.iter().any(Write::changes_memberships);
            let bookkeeping = due.then(|| Bookkeeping::due(&indexer));
            if commit_group(&mut conn, writes, (marks, answerer), &mut keys, bookkeeping) {
                clock.stored(start);
            }
            indexer.appended(appends);
            checkpointer.nudge();
        }
        if reminded && clock.due(marks, start) {
            keep_books_alone(&mut conn, marks, Bookkeeping::due(&indexer));
            clock.stored(start);
            checkpointer.nudge();
        }
        for reply in index_requests {
            indexer.catch_up(reply);
        }
        if !flushes.is_empty() {
            keep_books_alone(&mut conn, marks, Bookkeeping::due(&indexer));
            let checkpoint = checkpoint(&conn).map_err(Arc::new);
            for reply in flushes {
                let _ = reply.send(checkpoint.clone().map_err(SqliteError::Shared));
            }
        }
        linger.worked(start, std::time::Instant::now());
    }
    keep_books_alone(&mut conn, marks, Bookkeeping::due(&indexer));
    drop(indexer);
    drop(warmer);
    drop(checkpointer);
    drop(conn);
}

/// Does the `bookkeeping` in a transaction of its own, for the reminder's nudge to an idle
/// writer, a flush, and at start and stop; read positions another run left unstored are stored
/// too. A failure is logged, and the positions stay pending.
fn keep_books_alone(conn: &mut Connection, marks: &ReadMarks, bookkeeping: Bookkeeping) {
    let kept = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .and_then(|tx| {
            read_marks::store_pending(&tx)?;
            search_index::forget_changes(&tx, bookkeeping.forget_changes)?;
            tx.commit()
        });
    match kept {
        Ok(()) => marks.forget(),
        Err(error) => tracing::error!(%error, "cannot store the senders' read positions"),
    }
}

/// `duration` in whole microseconds, saturating.
fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Adds what was queued meanwhile to `group`, up to [`MAX_GROUP`], without waiting.
fn take_waiting(commands: &mut mpsc::Receiver<Command>, group: &mut Vec<Command>) {
    while group.len() < MAX_GROUP {
        let Ok(command) = commands.try_recv() else {
            return;
        };
        group.push(command);
    }
}

/// Copies the WAL into the database file and truncates it, waiting for readers to move on;
/// the database file is fsynced, so everything committed so far survives a power loss too.
/// A checkpoint the checkpointer thread is running makes this one busy at once (SQLite runs
/// one checkpoint at a time and does not wait for another), so it is tried again for a while.
fn checkpoint(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + FLUSH_PATIENCE;
    let mut busy: i64 = 1;
    while busy != 0 && std::time::Instant::now() < deadline {
        busy = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0))?;
        if busy != 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    if busy != 0 {
        return Err(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
            Some("the checkpoint could not finish: the database stayed busy".into()),
        ));
    }
    Ok(())
}

/// The bookkeeping a group does first when it is due: store the pending read positions, and
/// forget the search changes up to `forget_changes`, which the search index has synced.
#[derive(Clone, Copy)]
struct Bookkeeping {
    forget_changes: i64,
}

impl Bookkeeping {
    /// The bookkeeping due now, given how far the indexer has synced.
    fn due(indexer: &Indexer) -> Bookkeeping {
        Bookkeeping {
            forget_changes: indexer.synced_changes(),
        }
    }
}

/// Runs `writes` in one transaction, first doing the `bookkeeping` if any, commits once,
/// records the senders' new read positions, then answers every caller. Answers whether the
/// pending read positions were stored.
fn commit_group(
    conn: &mut Connection,
    writes: Vec<Write>,
    (marks, answerer): (&ReadMarks, &Answerer),
    keys: &mut RecentKeys,
    bookkeeping: Option<Bookkeeping>,
) -> bool {
    let started = std::time::Instant::now();
    let error = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => {
            let (committed, answers, failure) =
                commit_in(tx, writes, (marks, keys), bookkeeping, started);
            answerer.answer(answers, failure);
            return committed;
        }
        Err(error) => Arc::new(error),
    };
    tracing::error!(%error, "sqlite group transaction could not start");
    refuse(conn, writes, (marks, keys), error);
    false
}

/// [`commit_group`] once its transaction has begun, up to the answers, which it returns with
/// the group's failure, if any. What the group read or recorded of the rooms' keys is
/// forgotten unless it commits.
fn commit_in(
    tx: Transaction<'_>,
    writes: Vec<Write>,
    (marks, keys): (&ReadMarks, &mut RecentKeys),
    bookkeeping: Option<Bookkeeping>,
    started: std::time::Instant,
) -> (bool, Vec<Answer>, Option<Arc<rusqlite::Error>>) {
    let size = writes.len();
    keys.saw_data_version(data_version(&tx).ok());
    let mut broken = None;
    let stored = bookkeeping.is_some_and(|due| keep_books(&tx, &mut broken, due));
    let mut group = GroupMarks {
        marks,
        moves: Vec::with_capacity(writes.len()),
    };
    let answers: Vec<Answer> = writes
        .into_iter()
        .map(|write| write.apply(&tx, &mut broken, &mut group, keys))
        .collect();
    let failure = match broken {
        Some(error) => Some(error),
        None => tx.commit().err().map(Arc::new),
    };
    match &failure {
        Some(error) => {
            tracing::error!(%error, writes = answers.len(), "sqlite group commit failed")
        }
        None => tracing::trace!(writes = answers.len(), "sqlite group committed"),
    }
    chat_core::metrics::store_commit("sqlite", size, started.elapsed());
    let committed = failure.is_none();
    if committed {
        if stored {
            marks.forget();
        }
        marks.record(&group.moves);
    } else {
        keys.forget_all();
    }
    (committed && stored, answers, failure)
}

/// The connection's `PRAGMA data_version`, which moves when another connection commits.
fn data_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("PRAGMA data_version")?
        .query_row([], |row| row.get(0))
}

/// Answers every write of a group whose transaction could not start with its error: with the
/// group already broken, a write runs nothing and answers the group's error.
fn refuse(
    conn: &Connection,
    writes: Vec<Write>,
    (marks, keys): (&ReadMarks, &mut RecentKeys),
    error: Arc<rusqlite::Error>,
) {
    let mut broken = Some(error);
    let mut group = GroupMarks {
        marks,
        moves: Vec::new(),
    };
    for write in writes {
        write.apply(conn, &mut broken, &mut group, keys)(None);
    }
}

/// Does the group's `bookkeeping` inside its transaction, in a savepoint of its own: a
/// failure is logged and leaves the read positions pending (and the changes listed), and the
/// group goes on.
fn keep_books(
    tx: &Connection,
    broken: &mut Option<Arc<rusqlite::Error>>,
    bookkeeping: Bookkeeping,
) -> bool {
    let kept = isolated(tx, broken, |conn| {
        read_marks::store_pending(conn)?;
        search_index::forget_changes(conn, bookkeeping.forget_changes)?;
        Ok(())
    });
    match kept {
        Ok(()) => true,
        Err(error) => {
            tracing::error!(%error, "cannot store the senders' read positions");
            false
        }
    }
}

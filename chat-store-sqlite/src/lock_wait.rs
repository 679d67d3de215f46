//! How the writer and the checkpointer wait for a lock another connection holds.
//!
//! SQLite's own busy timeout sleeps on a rising schedule (1, 2, 5, 10, 15, 20, 25 ms, …). A
//! checkpoint that rewinds the WAL holds the write lock while it copies the last frames and
//! fsyncs the database file, 5–30 ms on the test machine; the writer waiting on that schedule
//! woke up to 15 ms after the lock was free (measured: sleeps of 1.1, 2.4, 5.1, 10.2 and 15.1
//! ms, one stall of 34 ms), and every send waited with it. Waiting in short, even steps resumes
//! it within a step of the lock's release, for the cost of a failed lock attempt per step.

use std::cell::Cell;
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// How long a connection keeps trying before it gives up with `SQLITE_BUSY`.
pub(crate) const PATIENCE: Duration = Duration::from_secs(5);

/// The wait between two attempts at the lock.
const STEP: Duration = Duration::from_micros(100);

/// Makes `conn` wait for locks in [`STEP`]s, for up to [`PATIENCE`] each time.
pub(crate) fn wait_in_short_steps(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_handler(Some(try_again))
}

thread_local! {
    /// When the current wait of this thread's connection began.
    static WAITING_SINCE: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// SQLite's busy callback: `attempts` is how many times it was called for this lock, 0 the
/// first. Answers whether to try again, after a step.
fn try_again(attempts: i32) -> bool {
    let now = Instant::now();
    let since = WAITING_SINCE.with(|since| {
        if attempts == 0 {
            since.set(Some(now));
        }
        since.get().unwrap_or(now)
    });
    if now.duration_since(since) >= PATIENCE {
        return false;
    }
    std::thread::sleep(STEP);
    true
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use rusqlite::TransactionBehavior;

    use super::*;

    /// A writer blocked by another connection's write lock takes it once it is released,
    /// instead of failing at once (what it does with no busy timeout, set here so that only
    /// this handler waits).
    #[test]
    fn a_blocked_writer_gets_the_lock_once_it_is_released() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock.sqlite3");
        let mut holder = Connection::open(&path).unwrap();
        holder
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER);")
            .unwrap();
        let mut waiter = Connection::open(&path).unwrap();
        waiter.busy_timeout(Duration::ZERO).unwrap();
        wait_in_short_steps(&waiter).unwrap();

        let (locked, release) = (mpsc::channel(), mpsc::channel::<()>());
        let holding = std::thread::spawn(move || {
            let tx = holder
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .unwrap();
            tx.execute("INSERT INTO t VALUES (1)", []).unwrap();
            locked.0.send(()).unwrap();
            release.1.recv().unwrap();
            std::thread::sleep(Duration::from_millis(20));
            tx.commit().unwrap();
        });
        locked.1.recv().unwrap();
        release.0.send(()).unwrap();
        let tx = waiter
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .unwrap();
        tx.execute("INSERT INTO t VALUES (2)", []).unwrap();
        tx.commit().unwrap();
        holding.join().unwrap();
        let rows: i64 = waiter
            .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 2);
    }

    /// Each wait has its own patience: a wait that begins long after an earlier one is not
    /// cut short by it.
    #[test]
    fn every_wait_starts_its_own_clock() {
        WAITING_SINCE.with(|since| since.set(Some(Instant::now() - 2 * PATIENCE)));
        assert!(try_again(0));
        assert!(try_again(1));
    }
}

//! Keeping the search index (`messages_fts`) up to date behind the appends.
//!
//! Indexing costs far more than storing a row, mostly per transaction (FTS5 writes a new
//! segment and its structure record for each), and group commits are small, so appends do not
//! index: the writer indexes what was appended since the last time, in one transaction, once
//! enough has gathered, and before any search runs. Searches therefore see every acknowledged
//! message, and the writer pays the per-transaction cost once per batch instead of per group.
//!
//! `search_index_state.indexed_upto` is the highest rowid covered; edits and deletions of
//! rows above it leave the index alone (V12's triggers), since the indexer reads their
//! current text when it gets to them.

use rusqlite::{Connection, TransactionBehavior, params};

/// Appends after which the writer indexes without waiting for a search. Every send waits
/// while a batch is indexed: on a 370 MB history, batches of 4,096 held the writer 14–77 ms
/// each (p99 at 4,000 msg/s), batches of 512 a median 2.4 ms (30 ms at most, when FTS5 merges
/// segments), for about a tenth more indexing work in all (BENCHMARKS.md).
pub(crate) const INDEX_EVERY: usize = 512;

/// The most rows one indexing transaction covers, so that a long backlog (after a restart)
/// does not hold the write lock for long at once.
const BATCH: i64 = 16_384;

/// Indexes every message appended since the last run, in transactions of up to [`BATCH`]
/// rows.
pub(crate) fn index_pending(conn: &mut Connection) -> rusqlite::Result<()> {
    while index_batch(conn)? {}
    Ok(())
}

/// Indexes up to [`BATCH`] rows past the mark; true while more remain.
fn index_batch(conn: &mut Connection) -> rusqlite::Result<bool> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let upto: i64 = tx.query_row(
        "SELECT indexed_upto FROM search_index_state WHERE id = 1",
        [],
        |row| row.get(0),
    )?;
    let top: i64 = tx.query_row("SELECT coalesce(max(rowid), 0) FROM messages", [], |row| {
        row.get(0)
    })?;
    if top <= upto {
        return Ok(false);
    }
    let until = top.min(upto.saturating_add(BATCH));
    tx.prepare_cached(
        "INSERT INTO messages_fts (rowid, text, room)
         SELECT rowid, text, lower(hex(room_id)) FROM messages
         WHERE rowid > ?1 AND rowid <= ?2 AND event_kind IS NULL AND text <> ''",
    )?
    .execute(params![upto, until])?;
    tx.prepare_cached("UPDATE search_index_state SET indexed_upto = ?1 WHERE id = 1")?
        .execute([until])?;
    tx.commit()?;
    Ok(until < top)
}

//! Bringing the search index (`search.messages_fts`, in its own file: `search_db`) up to date
//! with the messages, on a connection that has it attached.
//!
//! Indexing costs far more than storing a row, mostly per transaction (FTS5 writes a new
//! segment and its structure record for each), so appends do not index: the indexer thread
//! indexes what was appended since its last pass in one transaction, once enough has gathered
//! and before any search runs, so searches see every acknowledged message.
//!
//! A pass reads one snapshot of the chat database and, in one transaction of the index:
//! - applies the `search_changes` past `changes_upto` to the rows it already covers: each
//!   such row is dropped from the index and indexed again with its current text, if it still
//!   has any (edits, tombstones and deletions; rows past the mark are indexed with their
//!   current text when the pass gets to them);
//! - then lowers `indexed_upto` to the newest message if the newest were deleted (their entries
//!   are gone by then), so a rowid SQLite hands out again is indexed afresh;
//! - indexes up to [`BATCH`] rows past the mark, and moves both marks.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

/// The most new rows one pass indexes, so that a long backlog (after an upgrade or a restore)
/// is committed in steps a search can follow.
const BATCH: i64 = 16_384;

/// How far the index has got.
struct Marks {
    indexed_upto: i64,
    upto_id: Option<Vec<u8>>,
    changes_upto: i64,
}

/// Indexes every message appended and applies every change made since the last pass, in
/// passes of up to [`BATCH`] new rows; answers the last change applied.
pub(crate) fn index_pending(conn: &mut Connection) -> rusqlite::Result<i64> {
    loop {
        let (changes_upto, more) = pass(conn)?;
        if !more {
            return Ok(changes_upto);
        }
    }
}

/// Starts the index over when it does not describe this database: its mark names a row the
/// database does not hold (another database's index, or a database restored or rolled back
/// by a power loss behind it), or it applied changes this database never made. A fresh index
/// file starts here too. Answers whether it started over.
pub(crate) fn reconcile(conn: &mut Connection) -> rusqlite::Result<bool> {
    let tx = index_transaction(conn)?;
    let matches = match marks(&tx)? {
        None => false,
        Some(marks) => {
            let row_id = id_at(&tx, marks.indexed_upto)?;
            row_id == marks.upto_id && marks.changes_upto <= last_change(&tx)?
        }
    };
    if matches {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO search.messages_fts (messages_fts) VALUES ('delete-all')",
        [],
    )?;
    let changes_upto = last_change(&tx)?;
    tx.execute(
        "INSERT OR REPLACE INTO search.search_state (id, indexed_upto, upto_id, changes_upto)
         VALUES (1, 0, NULL, ?1)",
        [changes_upto],
    )?;
    tx.commit()?;
    Ok(true)
}

/// Forgets the changes up to `upto`, which the index has made durable.
pub(crate) fn forget_changes(conn: &Connection, upto: i64) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM search_changes WHERE id <= ?1")?
        .execute([upto])?;
    Ok(())
}

/// One pass; answers the last change applied, and whether new rows remain past the batch.
fn pass(conn: &mut Connection) -> rusqlite::Result<(i64, bool)> {
    let tx = index_transaction(conn)?;
    let Some(mut marks) = marks(&tx)? else {
        return Ok((0, false));
    };
    let top: i64 = tx.query_row("SELECT coalesce(max(rowid), 0) FROM messages", [], |row| {
        row.get(0)
    })?;
    let last_change = last_change(&tx)?;
    let changed = last_change > marks.changes_upto;
    if changed {
        reindex_changed(&tx, &marks)?;
        marks.changes_upto = last_change;
    }
    let newest_deleted = top < marks.indexed_upto;
    if newest_deleted {
        marks.indexed_upto = top;
    }
    let until: i64 = tx
        .prepare_cached(
            "SELECT coalesce(max(rowid), ?1) FROM
             (SELECT rowid FROM messages WHERE rowid > ?1 ORDER BY rowid LIMIT ?2)",
        )?
        .query_row(params![marks.indexed_upto, BATCH], |row| row.get(0))?;
    if until == marks.indexed_upto && !changed && !newest_deleted {
        return Ok((marks.changes_upto, false));
    }
    tx.prepare_cached(
        "INSERT INTO search.messages_fts (rowid, text, room)
         SELECT rowid, text, lower(hex(room_id)) FROM messages
         WHERE rowid > ?1 AND rowid <= ?2 AND event_kind IS NULL AND text <> ''",
    )?
    .execute(params![marks.indexed_upto, until])?;
    let upto_id = id_at(&tx, until)?;
    tx.prepare_cached(
        "UPDATE search.search_state SET indexed_upto = ?1, upto_id = ?2, changes_upto = ?3
         WHERE id = 1",
    )?
    .execute(params![until, upto_id, marks.changes_upto])?;
    tx.commit()?;
    Ok((marks.changes_upto, until < top))
}

/// A transaction that holds the index's write lock from its first statement, and reads the
/// chat database without locking it. `BEGIN IMMEDIATE` would lock the chat database too; a
/// deferred transaction that read the index before writing it would fail at once
/// (`SQLITE_BUSY_SNAPSHOT`, which waits cannot cure) when another process's indexer had
/// committed meanwhile, where this one waits for that indexer's lock like any writer.
fn index_transaction(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    let tx = conn.transaction()?;
    tx.prepare_cached("UPDATE search.search_state SET indexed_upto = indexed_upto")?
        .execute([])?;
    Ok(tx)
}

/// Drops the rows the changes past the mark name from the index, and indexes again those the
/// index covers that still have text.
fn reindex_changed(tx: &Transaction<'_>, marks: &Marks) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "DELETE FROM search.messages_fts WHERE rowid IN
         (SELECT message_rowid FROM search_changes WHERE id > ?1 AND message_rowid <= ?2)",
    )?
    .execute(params![marks.changes_upto, marks.indexed_upto])?;
    tx.prepare_cached(
        "INSERT INTO search.messages_fts (rowid, text, room)
         SELECT rowid, text, lower(hex(room_id)) FROM messages
         WHERE rowid IN
             (SELECT message_rowid FROM search_changes WHERE id > ?1 AND message_rowid <= ?2)
           AND event_kind IS NULL AND text <> ''",
    )?
    .execute(params![marks.changes_upto, marks.indexed_upto])?;
    Ok(())
}

/// The index's marks, if it has any yet.
fn marks(conn: &Connection) -> rusqlite::Result<Option<Marks>> {
    conn.prepare_cached(
        "SELECT indexed_upto, upto_id, changes_upto FROM search.search_state WHERE id = 1",
    )?
    .query_row([], |row| {
        Ok(Marks {
            indexed_upto: row.get(0)?,
            upto_id: row.get(1)?,
            changes_upto: row.get(2)?,
        })
    })
    .optional()
}

/// The id of the message at `rowid`, if there is one.
fn id_at(conn: &Connection, rowid: i64) -> rusqlite::Result<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT id FROM messages WHERE rowid = ?1")?
        .query_row([rowid], |row| row.get(0))
        .optional()
}

/// The highest id `search_changes` ever handed out (0 before the first change).
fn last_change(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'search_changes'), 0)",
    )?
    .query_row([], |row| row.get(0))
}

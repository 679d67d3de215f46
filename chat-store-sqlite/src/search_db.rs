//! The search index's own database file, beside the chat database (`chat.db-search`).
//!
//! The index lives apart so that keeping it up to date never takes the chat database's write
//! lock: the indexer thread writes this file while the writer commits appends to the other,
//! and FTS5's segment writes and merges stay out of the chat database's WAL and checkpoints.
//! Connections see it as the schema `search`, attached to a connection to the chat database,
//! so one statement reads messages and writes their index entries, and a search joins the
//! index with the messages.
//!
//! Everything in it is derived from the messages: backups leave it out, and a missing file, or
//! one that does not match the database beside it, is rebuilt (`search_index::reconcile`).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

use crate::error::SqliteError;
use crate::{files, lock_wait, schema};

/// What the index file is called: the database's name with this appended.
const SUFFIX: &str = "-search";

/// The index's tables, created if missing. `messages_fts` is the V6 design moved here:
///
/// - contentless (`content=''`): the text lives once, in `messages`; the index keeps only
///   tokens, and `contentless_delete=1` lets a row be removed by rowid alone;
/// - its rowid is the message's rowid, so "newest first" is a descending walk of the index;
/// - `room` holds the room id in lowercase hex as one token, so a search ANDs its words with
///   an OR of the caller's rooms inside FTS5;
/// - `unicode61 remove_diacritics 2` folds case and accents (`cafe` finds `Café`).
///
/// `search_state` says how far the index has got: every message up to rowid `indexed_upto`
/// (whose id was `upto_id`), and every entry of `search_changes` up to `changes_upto`.
const TABLES: &str = r"
CREATE VIRTUAL TABLE IF NOT EXISTS search.messages_fts USING fts5(
    text, room,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS search.search_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_upto INTEGER NOT NULL,
    upto_id      BLOB,
    changes_upto INTEGER NOT NULL
);
";

/// The index file of the database at `database`.
pub(crate) fn path(database: &Path) -> PathBuf {
    files::companion(database, SUFFIX)
}

/// The indexer's connection: the chat database (which it only reads) with the index file
/// attached as `search`, created (mode 0600) with its tables if missing. Index commits are
/// not synced (`synchronous=NORMAL`): the indexer syncs the changes it applied with a
/// checkpoint before the writer may forget them (`indexer`).
pub(crate) fn open_indexer(database: &Path) -> Result<Connection, SqliteError> {
    let index = path(database);
    files::prepare(&index)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(database, flags)?;
    lock_wait::wait_in_short_steps(&conn)?;
    schema::keep_plans(&conn)?;
    attach(&conn, &index)?;
    conn.pragma_update_and_check(Some("search"), "journal_mode", "WAL", |row| {
        row.get::<_, String>(0)
    })?;
    conn.pragma_update(Some("search"), "synchronous", "NORMAL")?;
    create_tables(&conn)?;
    Ok(conn)
}

/// Attaches the index file at `index` to `conn` as `search`; a reader's attachment is
/// read-only like its connection.
pub(crate) fn attach(conn: &Connection, index: &Path) -> Result<(), SqliteError> {
    let name = index.to_str().ok_or_else(|| SqliteError::File {
        path: index.to_owned(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "path is not UTF-8"),
    })?;
    conn.execute("ATTACH DATABASE ?1 AS search", [name])?;
    Ok(())
}

/// Creates the index's tables in the attached `search` schema if they are missing.
pub(crate) fn create_tables(conn: &Connection) -> Result<(), SqliteError> {
    conn.execute_batch(TABLES)?;
    Ok(())
}

/// Removes the index file of the database at `database` and its companions, so that the next
/// open rebuilds it: after a restore, the index describes messages the database no longer
/// has. No server may have the database open meanwhile.
pub(crate) fn remove(database: &Path) -> Result<(), SqliteError> {
    let index = path(database);
    let companions = files::COMPANIONS.map(|suffix| files::companion(&index, suffix));
    for file in std::iter::once(index).chain(companions) {
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(SqliteError::File { path: file, source }),
        }
    }
    Ok(())
}

/// Attaches an empty in-memory index with its tables, for tests on an in-memory database.
#[cfg(test)]
pub(crate) fn attach_in_memory(conn: &Connection) {
    attach(conn, Path::new(":memory:")).unwrap();
    create_tables(conn).unwrap();
}

//! Online backups and restores of a database file through SQLite's backup API.
//!
//! A backup copies every page in one step, under one read transaction: in WAL mode that is a
//! snapshot of one instant, taken while servers keep reading and writing (the writer never
//! waits for it, nor it for the writer). A restore writes a backup's pages into the database
//! through SQLite itself, so its WAL and shared memory stay consistent; the caller makes sure
//! no server has the database open meanwhile.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::backup::{Backup, StepResult};

use crate::error::SqliteError;
use crate::{files, schema, search_db};

/// How often a step that found the database locked is tried again.
const BUSY_RETRIES: usize = 50;
/// The pause between such tries.
const BUSY_PAUSE: Duration = Duration::from_millis(100);

/// Writes a consistent copy of the database at `database` to `to` (mode 0600), replacing
/// `to` only once the copy is complete and checked. Safe while servers use the database.
pub fn backup(database: &Path, to: &Path) -> Result<(), SqliteError> {
    let source = open_source(database)?;
    let partial = PathBuf::from(format!("{}.partial", to.display()));
    let _ = std::fs::remove_file(&partial);
    files::prepare(&partial)?;
    let mut target = Connection::open(&partial)?;
    copy(&source, &mut target)?;
    check(&target, &partial)?;
    drop(target);
    std::fs::rename(&partial, to).map_err(|source| SqliteError::File {
        path: to.to_owned(),
        source,
    })
}

/// Replaces the contents of the database at `database` (created if missing) with the backup
/// at `from`, after checking that `from` is a sound chat database whose schema this release
/// knows, and removes the old search index, which the next open rebuilds from the restored
/// messages. No server may have `database` open while this runs.
pub fn restore(from: &Path, database: &Path) -> Result<(), SqliteError> {
    let source = open_source(from)?;
    check(&source, from)?;
    files::prepare(database)?;
    let mut target = Connection::open(database)?;
    schema::configure_writer(&target)?;
    copy(&source, &mut target)?;
    target.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    search_db::remove(database)
}

/// A read-only connection to an initialized chat database of a schema this release knows.
fn open_source(path: &Path) -> Result<Connection, SqliteError> {
    if !schema::is_initialized(path)? {
        return Err(SqliteError::NotADatabase {
            path: path.to_owned(),
            reason: "missing, empty or never initialized".into(),
        });
    }
    let conn = schema::open_reader(path)?;
    schema::check_version(&conn)?;
    Ok(conn)
}

/// Copies every page of `source` into `target` in one step, retrying while it is locked.
fn copy(source: &Connection, target: &mut Connection) -> Result<(), SqliteError> {
    let backup = Backup::new(source, target)?;
    for _ in 0..BUSY_RETRIES {
        match backup.step(-1)? {
            StepResult::Done => return Ok(()),
            // More (not after a step of every page), Busy or Locked: try again.
            _ => std::thread::sleep(BUSY_PAUSE),
        }
    }
    Err(SqliteError::Sqlite(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
        Some("the database stayed locked during the backup".into()),
    )))
}

/// Fails unless SQLite's integrity check passes on `conn` (the file at `path`).
fn check(conn: &Connection, path: &Path) -> Result<(), SqliteError> {
    let verdict: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
    if verdict == "ok" {
        Ok(())
    } else {
        Err(SqliteError::NotADatabase {
            path: path.to_owned(),
            reason: verdict,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &Path, name: &str, rows: &[&str]) -> PathBuf {
        let path = dir.join(name);
        let mut conn = Connection::open(&path).unwrap();
        schema::configure_writer(&conn).unwrap();
        schema::migrate(&mut conn).unwrap();
        for (i, email) in rows.iter().enumerate() {
            conn.execute(
                "INSERT INTO users (id, email, name, name_folded, password_hash, created_at)
                 VALUES (?1, ?2, 'n', 'n', 'h', 1)",
                (vec![i as u8; 12], email),
            )
            .unwrap();
        }
        path
    }

    fn emails(path: &Path) -> Vec<String> {
        let conn = Connection::open(path).unwrap();
        let mut statement = conn
            .prepare("SELECT email FROM users ORDER BY email")
            .unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    /// A backup taken while a connection holds uncheckpointed writes in the WAL has them;
    /// restoring it over another database replaces that one's contents.
    #[test]
    fn backups_hold_committed_writes_and_restore_over_a_database() {
        let dir = tempfile::tempdir().unwrap();
        let live = database(dir.path(), "live.db", &["a@x", "b@x"]);
        let open = Connection::open(&live).unwrap();
        open.execute(
            "INSERT INTO users (id, email, name, name_folded, password_hash, created_at)
             VALUES (x'0909090909090909090909FF', 'c@x', 'n', 'n', 'h', 1)",
            [],
        )
        .unwrap();
        let copy = dir.path().join("copy.db");
        backup(&live, &copy).unwrap();
        assert_eq!(emails(&copy), ["a@x", "b@x", "c@x"]);
        assert!(!dir.path().join("copy.db.partial").exists());

        let other = database(dir.path(), "other.db", &["z@x"]);
        restore(&copy, &other).unwrap();
        assert_eq!(emails(&other), ["a@x", "b@x", "c@x"]);
    }

    /// A file that is no chat database is refused and the target is left alone.
    #[test]
    fn restoring_something_else_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk");
        std::fs::write(&junk, b"not a database at all, clearly").unwrap();
        let target = database(dir.path(), "target.db", &["a@x"]);
        assert!(restore(&junk, &target).is_err());
        assert!(restore(&dir.path().join("missing"), &target).is_err());
        assert_eq!(emails(&target), ["a@x"]);
    }
}

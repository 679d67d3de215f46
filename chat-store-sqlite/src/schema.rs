//! The settings every connection runs with, and bringing a database to the current schema.
//!
//! The schema version lives in `PRAGMA user_version`: the number of [`MIGRATIONS`] a database
//! has run.

use std::path::Path;

use chat_core::id::{RawId, UserId};
use rusqlite::config::DbConfig;
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::SqliteError;
use crate::lock_wait;
use crate::migrations::MIGRATIONS;
use crate::rows;

/// How many prepared statements each connection keeps. The crate runs some 70 distinct
/// statements through `prepare_cached`, and rusqlite's default of 16 would parse a mixed
/// load's statements again and again.
const STATEMENT_CACHE: usize = 128;

/// How large the WAL file may stay once it has been rewound (64 MiB); the checkpointer keeps it
/// near this under load.
const JOURNAL_SIZE_LIMIT: i64 = 64 << 20;

/// The writer's page cache, in KiB (64 MiB). Each append reads and dirties the newest
/// `(room_id, seq)` index page of its room, so the pages the writer keeps going back to grow
/// with the rooms in use and the depth of the index; in SQLite's default 2 MiB they did not fit
/// once the history held 4 million messages, and every miss read the page back through the
/// kernel. A fresh database never fills it (BENCHMARKS.md).
const WRITER_CACHE_KIB: i64 = 64 * 1024;

/// Settings for the one connection that writes: WAL so readers never wait for it,
/// `synchronous=NORMAL` so a commit costs no fsync yet survives a crash of the process (a
/// power loss may roll back the last commits), no automatic checkpoints (the checkpointer
/// thread does them), a page cache that holds what appends keep touching, and foreign keys so
/// no message or membership can point at nothing.
pub(crate) fn configure_writer(conn: &Connection) -> Result<(), SqliteError> {
    lock_wait::wait_in_short_steps(conn)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    keep_plans(conn)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
    conn.pragma_update_and_check(None, "journal_size_limit", JOURNAL_SIZE_LIMIT, |row| {
        row.get::<_, i64>(0)
    })?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Deleted messages must leave no readable trace in the file.
    conn.pragma_update(None, "secure_delete", true)?;
    Ok(())
}

/// Settings for the checkpointer's connection: it waits for the writer when a checkpoint must
/// rewind the WAL, and writes the WAL back with the writer's durability.
pub(crate) fn configure_checkpointer(conn: &Connection) -> Result<(), SqliteError> {
    lock_wait::wait_in_short_steps(conn)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update_and_check(None, "journal_size_limit", JOURNAL_SIZE_LIMIT, |row| {
        row.get::<_, i64>(0)
    })?;
    Ok(())
}

/// A read-only connection to the database at `path`: it may briefly wait on a checkpoint or
/// on recovery.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, SqliteError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(lock_wait::PATIENCE)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    keep_plans(&conn)?;
    Ok(conn)
}

/// Makes a cached statement keep the program it was compiled to, whatever is bound to it.
///
/// Without this, SQLite marks a statement for recompiling whenever a parameter it looked at
/// while planning is bound, even to the same value: a `LIMIT ?` (histories, room lists,
/// catch-up and the indexer's batches all page with one) and a bound `LIKE` pattern. Each
/// run of those statements parsed and planned its SQL again; a server on one core connected
/// half as many sockets a second, each connect listing its user's rooms (BENCHMARKS.md).
/// The planner no longer sees a bound limit's value, which none of these plans needs (each
/// `LIMIT` follows an index that gives the order, or a sort of the few rows found), and the
/// crate keeps no `ANALYZE` statistics for bound values to steer.
pub(crate) fn keep_plans(conn: &Connection) -> Result<(), SqliteError> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(())
}

/// Whether the database at `path` exists and holds a schema (any version); a missing or
/// zero-length file, or one no migration ever ran on, does not. Reads only, creates nothing.
pub(crate) fn is_initialized(path: &Path) -> Result<bool, SqliteError> {
    let exists = path.try_exists().map_err(|source| SqliteError::File {
        path: path.to_owned(),
        source,
    })?;
    if !exists {
        return Ok(false);
    }
    let conn = open_reader(path)?;
    let version: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    Ok(version > 0)
}

/// Fails with [`SqliteError::UnknownSchema`] when the database was migrated by a newer
/// release than this one.
pub(crate) fn check_version(conn: &Connection) -> Result<(), SqliteError> {
    let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    if (0..=supported).contains(&found) {
        Ok(())
    } else {
        Err(SqliteError::UnknownSchema { found, supported })
    }
}

/// Brings the database to the newest schema. Runs under an immediate transaction, so several
/// processes opening one new file at once migrate it exactly once.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), SqliteError> {
    register_functions(conn)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    let supported = MIGRATIONS.len() as i64;
    let pending = usize::try_from(found)
        .ok()
        .and_then(|done| MIGRATIONS.get(done..))
        .ok_or(SqliteError::UnknownSchema { found, supported })?;
    if pending.is_empty() {
        return Ok(());
    }
    for migration in pending {
        tx.execute_batch(migration)?;
    }
    tx.pragma_update(None, "user_version", supported)?;
    tx.commit()?;
    Ok(())
}

/// The Rust functions migrations call: `chat_client_key(sender_id, client_id)` is
/// [`rows::client_key`] (NULL without a `client_id`), which V11 stores for the messages
/// written before it.
fn register_functions(conn: &Connection) -> Result<(), SqliteError> {
    conn.create_scalar_function(
        "chat_client_key",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |call| {
            let sender = UserId(RawId::from_bytes(call.get(0)?));
            let client_id: Option<String> = call.get(1)?;
            Ok(client_id.map(|client_id| rows::client_key(sender, &client_id)))
        },
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use chat_core::id::{RoomId, UserId};
    use chat_core::search::{SearchQuery, Terms};

    use super::*;
    use crate::{queries, search, search_db, search_index};

    /// A database written by the first release keeps its direct rooms, members and history.
    #[test]
    fn version_1_databases_migrate_with_their_rooms() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        let (a, b, room) = (UserId::generate(), UserId::generate(), RoomId::generate());
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        for (user, email) in [(a, "a@x"), (b, "b@x")] {
            conn.execute(
                "INSERT INTO users VALUES (?1, ?2, 'n', 'n', 'h', 5)",
                (user.0.as_bytes(), email),
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO rooms (id, kind, member_a, member_b, created_at, last_activity)
             VALUES (?1, 'direct', ?2, ?3, 7, 7)",
            (room.0.as_bytes(), low.0.as_bytes(), high.0.as_bytes()),
        )
        .unwrap();
        for user in [a, b] {
            conn.execute(
                "INSERT INTO room_members VALUES (?1, ?2, 7)",
                (room.0.as_bytes(), user.0.as_bytes()),
            )
            .unwrap();
        }
        migrate(&mut conn).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let listed = queries::rooms_of(&conn, a, 10).unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].id, room);
        assert_eq!(listed[0].members, vec![low, high]);
        assert_eq!(listed[0].group, None);
        assert_eq!(queries::member(&conn, room, a).unwrap(), None);
    }

    /// A room of two users and its messages, written with plain SQL at schema version 4.
    fn version_4_database(texts: &[(&str, Option<&str>)]) -> (Connection, RoomId) {
        let conn = Connection::open_in_memory().unwrap();
        for migration in &MIGRATIONS[..4] {
            conn.execute_batch(migration).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        let (user, room) = (UserId::generate(), RoomId::generate());
        conn.execute(
            "INSERT INTO users (id, email, name, name_folded, password_hash, created_at)
             VALUES (?1, 'a@x', 'A', 'a', 'h', 5)",
            [user.0.as_bytes()],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO rooms (id, kind, name, created_at, last_activity)
             VALUES (?1, 'group', 'g', 7, 7)",
            [room.0.as_bytes()],
        )
        .unwrap();
        for (seq, (text, event)) in texts.iter().enumerate() {
            conn.execute(
                "INSERT INTO messages (id, room_id, seq, sender_id, sender_name, text, ts,
                     event_kind, event_name)
                 VALUES (?1, ?2, ?3, ?4, 'A', ?5, 9, ?6, ?5)",
                rusqlite::params![
                    chat_core::id::MessageId::generate().0.as_bytes(),
                    room.0.as_bytes(),
                    seq + 1,
                    user.0.as_bytes(),
                    text,
                    event,
                ],
            )
            .unwrap();
        }
        (conn, room)
    }

    fn found(conn: &Connection, room: RoomId, words: &str) -> Vec<String> {
        let query = SearchQuery {
            terms: Terms::parse(words).unwrap(),
            rooms: vec![room],
            before: None,
            limit: 10,
        };
        let hits = search::search(conn, &query).unwrap();
        hits.into_iter().map(|message| message.text).collect()
    }

    /// Attaches a new in-memory search index to `conn` and brings it up to date.
    fn with_index(conn: &mut Connection) {
        search_db::attach_in_memory(conn);
        assert!(
            search_index::reconcile(conn).unwrap(),
            "a new index starts over"
        );
        search_index::index_pending(conn).unwrap();
    }

    /// A new index holds the messages already stored, and no membership entry.
    #[test]
    fn a_new_index_holds_the_stored_messages() {
        let (mut conn, room) = version_4_database(&[
            ("old harbour news", None),
            ("harbour renamed", Some("renamed")),
            ("Crème brûlée at the harbour", None),
        ]);
        migrate(&mut conn).unwrap();
        with_index(&mut conn);
        assert_eq!(
            found(&conn, room, "harbour"),
            ["Crème brûlée at the harbour", "old harbour news"]
        );
        assert!(found(&conn, room, "renamed").is_empty());
        // Looser than the contract: word prefixes, and letters without their accents.
        assert_eq!(
            found(&conn, room, "harb creme"),
            ["Crème brûlée at the harbour"]
        );
        // A word FTS5 reads as no token at all (a lone combining mark) finds nothing, quietly.
        assert!(found(&conn, room, "\u{93f}").is_empty());
    }

    /// A caller in more rooms than the match expression takes gets the same hits, its rooms
    /// filtered row by row.
    #[test]
    fn many_rooms_are_filtered_row_by_row() {
        let (mut conn, room) = version_4_database(&[("kiwi one", None), ("kiwi two", None)]);
        migrate(&mut conn).unwrap();
        with_index(&mut conn);
        let mut rooms: Vec<RoomId> = (0..300).map(|_| RoomId::generate()).collect();
        rooms.push(room);
        let query = SearchQuery {
            terms: Terms::parse("kiwi").unwrap(),
            rooms,
            before: None,
            limit: 1,
        };
        let hits = search::search(&conn, &query).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].text, "kiwi two");
        let others = SearchQuery {
            rooms: query.rooms[..300].to_vec(),
            ..query
        };
        assert!(search::search(&conn, &others).unwrap().is_empty());
    }

    /// A database at version 8 keeps its history, and each room's last message, last seq and
    /// activity come from its newest entry once the rooms no longer carry copies of them.
    #[test]
    fn version_8_rooms_read_their_head_from_the_history() {
        let (mut conn, room) = version_4_database(&[]);
        for migration in &MIGRATIONS[4..8] {
            conn.execute_batch(migration).unwrap();
        }
        conn.pragma_update(None, "user_version", 8).unwrap();
        let user: Vec<u8> = conn
            .query_row("SELECT id FROM users", [], |row| row.get(0))
            .unwrap();
        let mut ids = Vec::new();
        for (seq, ts) in [(1, 1_000), (2, 3_000), (3, 2_000)] {
            let id = chat_core::id::MessageId::generate();
            conn.execute(
                "INSERT INTO messages (id, room_id, seq, sender_id, sender_name, text, ts)
                 VALUES (?1, ?2, ?3, ?4, 'A', ?5, ?6)",
                rusqlite::params![
                    id.0.as_bytes(),
                    room.0.as_bytes(),
                    seq,
                    user,
                    format!("message {seq}"),
                    ts
                ],
            )
            .unwrap();
            ids.push(id);
        }
        conn.execute(
            "UPDATE rooms SET last_seq = 3, last_activity = 3000, last_message_id = ?1,
                 created_by = ?2",
            rusqlite::params![ids[2].0.as_bytes(), user],
        )
        .unwrap();
        let empty = RoomId::generate();
        conn.execute(
            "INSERT INTO rooms (id, kind, name, created_at, last_activity, created_by)
             VALUES (?1, 'group', 'empty', 9000, 9000, ?2)",
            rusqlite::params![empty.0.as_bytes(), user],
        )
        .unwrap();
        for room in [room, empty] {
            conn.execute(
                "INSERT INTO room_members (room_id, user_id) VALUES (?1, ?2)",
                rusqlite::params![room.0.as_bytes(), user],
            )
            .unwrap();
        }

        migrate(&mut conn).unwrap();
        let stored = queries::room(&conn, room).unwrap().unwrap();
        let last = stored.last_message.unwrap();
        assert_eq!(
            (last.id, last.seq, last.text.as_str()),
            (ids[2], 3, "message 3")
        );
        // The newest entry is older than the room's own activity: the later time stands.
        assert_eq!(stored.last_activity.timestamp_millis(), 3_000);
        assert_eq!(queries::page(&conn, room, None, 10).unwrap().len(), 3);
        let user = UserId(chat_core::id::RawId::from_bytes(user.try_into().unwrap()));
        let listed: Vec<RoomId> = queries::rooms_of(&conn, user, 10)
            .unwrap()
            .into_iter()
            .map(|room| room.id)
            .collect();
        assert_eq!(listed, [empty, room]);
        let next = crate::writes::append(
            &conn,
            chat_core::model::NewMessage {
                id: chat_core::id::MessageId::generate(),
                room_id: room,
                sender_id: user,
                sender_name: "A".into(),
                text: "after the upgrade".into(),
                client_id: None,
                timestamp: chat_core::model::now(),
                attachments: Vec::new(),
            },
            &mut crate::recent_keys::RecentKeys::new(),
        )
        .unwrap();
        assert_eq!(next.message.seq, 4);
        let stored = queries::room(&conn, room).unwrap().unwrap();
        assert_eq!(stored.last_message.unwrap().id, next.message.id);
        assert!(stored.last_activity > stored.created_at);
    }

    /// Edits re-index and deletions forget, whatever statement makes them, once the indexer
    /// has passed.
    #[test]
    fn edits_and_deletions_follow_the_index() {
        let (mut conn, room) = version_4_database(&[("first draft", None), ("second draft", None)]);
        migrate(&mut conn).unwrap();
        with_index(&mut conn);
        conn.execute(
            "UPDATE messages SET text = 'final version' WHERE seq = 1",
            [],
        )
        .unwrap();
        search_index::index_pending(&mut conn).unwrap();
        assert_eq!(found(&conn, room, "draft"), ["second draft"]);
        assert_eq!(found(&conn, room, "final"), ["final version"]);
        conn.execute("UPDATE messages SET text = '' WHERE seq = 1", [])
            .unwrap();
        search_index::index_pending(&mut conn).unwrap();
        assert!(found(&conn, room, "final").is_empty());
        conn.execute("DELETE FROM messages WHERE seq = 2", [])
            .unwrap();
        search_index::index_pending(&mut conn).unwrap();
        assert!(found(&conn, room, "draft").is_empty());
    }

    /// A message with this text at `seq`, by the room's first sender.
    fn insert(conn: &Connection, room: RoomId, seq: i64, text: &str) {
        conn.execute(
            "INSERT INTO messages (id, room_id, seq, sender_id, sender_name, text, ts)
             SELECT ?1, ?2, ?3, sender_id, 'A', ?4, 9 FROM messages LIMIT 1",
            rusqlite::params![
                chat_core::id::MessageId::generate().0.as_bytes(),
                room.0.as_bytes(),
                seq,
                text
            ],
        )
        .unwrap();
    }

    /// Appends are indexed behind them, with the text they have when the indexer gets to them,
    /// and a rowid handed out again after the newest row was deleted is indexed too, whether
    /// the indexer passed between the deletion and the new row or not.
    #[test]
    fn later_messages_are_indexed_behind_the_appends() {
        let (mut conn, room) = version_4_database(&[("old kiwi", None)]);
        migrate(&mut conn).unwrap();
        with_index(&mut conn);
        insert(&conn, room, 2, "new kiwi draft");
        insert(&conn, room, 3, "kiwi to forget");
        assert_eq!(found(&conn, room, "kiwi"), ["old kiwi"], "not indexed yet");
        conn.execute(
            "UPDATE messages SET text = 'new kiwi final' WHERE seq = 2",
            [],
        )
        .unwrap();
        conn.execute("DELETE FROM messages WHERE seq = 3", [])
            .unwrap();
        search_index::index_pending(&mut conn).unwrap();
        assert_eq!(found(&conn, room, "kiwi"), ["new kiwi final", "old kiwi"]);
        assert!(found(&conn, room, "draft").is_empty());

        conn.execute("DELETE FROM messages WHERE seq = 2", [])
            .unwrap();
        insert(&conn, room, 4, "kiwi reborn");
        search_index::index_pending(&mut conn).unwrap();
        assert_eq!(found(&conn, room, "kiwi"), ["kiwi reborn", "old kiwi"]);

        conn.execute("DELETE FROM messages WHERE seq = 4", [])
            .unwrap();
        search_index::index_pending(&mut conn).unwrap();
        insert(&conn, room, 5, "kiwi again");
        search_index::index_pending(&mut conn).unwrap();
        assert_eq!(found(&conn, room, "kiwi"), ["kiwi again", "old kiwi"]);
        assert!(
            found(&conn, room, "reborn").is_empty(),
            "the deleted row's words left with it"
        );
    }

    /// An index that describes messages its database does not hold (a database rolled back
    /// or restored behind it) starts over, and then finds what the database holds.
    #[test]
    fn an_index_ahead_of_its_database_starts_over() {
        let (mut conn, room) = version_4_database(&[("plum one", None), ("plum two", None)]);
        migrate(&mut conn).unwrap();
        with_index(&mut conn);
        assert!(!search_index::reconcile(&mut conn).unwrap(), "in step");

        // The newest message is lost and another takes its rowid.
        conn.execute("DELETE FROM messages WHERE seq = 2", [])
            .unwrap();
        conn.execute("DELETE FROM search_changes", []).unwrap();
        insert(&conn, room, 2, "pear two");
        assert!(search_index::reconcile(&mut conn).unwrap());
        search_index::index_pending(&mut conn).unwrap();
        assert_eq!(found(&conn, room, "plum"), ["plum one"]);
        assert_eq!(found(&conn, room, "pear"), ["pear two"]);

        // The index applied a change the database no longer lists as ever made.
        conn.execute("UPDATE messages SET text = 'pear edited' WHERE seq = 2", [])
            .unwrap();
        search_index::index_pending(&mut conn).unwrap();
        conn.execute(
            "UPDATE sqlite_sequence SET seq = 0 WHERE name = 'search_changes'",
            [],
        )
        .unwrap();
        assert!(search_index::reconcile(&mut conn).unwrap());
        search_index::index_pending(&mut conn).unwrap();
        assert_eq!(found(&conn, room, "pear"), ["pear edited"]);
    }

    /// A statement that pages with a bound `LIMIT` is compiled once on the writer's, a
    /// reader's and the indexer's connections, not again at each run (as every room list,
    /// history page and index batch was before `keep_plans`).
    #[test]
    fn statements_that_page_are_compiled_once() {
        const PAGE: &str = "SELECT seq FROM messages WHERE room_id = ?1 ORDER BY seq LIMIT ?2";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.db");
        let mut writer = Connection::open(&path).unwrap();
        configure_writer(&writer).unwrap();
        migrate(&mut writer).unwrap();
        let reader = open_reader(&path).unwrap();
        let indexer = search_db::open_indexer(&path).unwrap();
        let room = RoomId::generate();
        for (name, conn) in [
            ("writer", &writer),
            ("reader", &reader),
            ("indexer", &indexer),
        ] {
            for limit in [10, 20, 10] {
                let mut page = conn.prepare_cached(PAGE).unwrap();
                let rows = page
                    .query_map(rusqlite::params![room.0.as_bytes(), limit], |row| {
                        row.get::<_, i64>(0)
                    })
                    .unwrap();
                assert_eq!(rows.count(), 0);
            }
            let page = conn.prepare_cached(PAGE).unwrap();
            let recompiled = page.get_status(rusqlite::StatementStatus::RePrepare);
            assert_eq!(recompiled, 0, "{name} compiled its page again");
        }
    }
}

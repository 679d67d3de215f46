//! The tables, their migrations, and the settings every connection runs with.
//!
//! The schema version lives in `PRAGMA user_version`: migration `n` (1-based) in
//! [`MIGRATIONS`] takes a database from version `n - 1` to `n`. Later releases append to the
//! list and never edit an entry that has shipped.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::SqliteError;

/// How long a connection waits for a lock held by another connection or process before it
/// gives up with `SQLITE_BUSY`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Every migration, oldest first; the database's version is how many of them it has run.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10];

/// The first schema.
///
/// - Ids are the 12 raw bytes of `chat_core::id::RawId`; instants are milliseconds since the
///   epoch, the precision `chat_core::model::Timestamp` keeps.
/// - `users.name_folded` is the lowercased name, folded in Rust so search is case-insensitive
///   beyond ASCII (SQLite's `lower()` and `LIKE` only fold ASCII). Search walks
///   `users_by_name` in result order and stops at its limit.
/// - A direct room keeps its sorted member pair in `member_a`/`member_b`; the UNIQUE pair makes
///   "one room per pair" hold across processes. `last_seq` is the seq of the newest message,
///   the counter appends increment inside the write transaction.
/// - `room_members` repeats the room's `last_activity` per member so `rooms_of` is one index
///   range scan in the order it returns.
/// - Messages are paged by `(room_id, seq)`; the partial unique index makes resends with a
///   `client_id` idempotent.
const V1: &str = r"
CREATE TABLE users (
    id            BLOB PRIMARY KEY NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    name_folded   TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX users_by_name ON users (name, id);

CREATE TABLE rooms (
    id              BLOB PRIMARY KEY NOT NULL,
    kind            TEXT NOT NULL,
    member_a        BLOB REFERENCES users (id),
    member_b        BLOB REFERENCES users (id),
    created_at      INTEGER NOT NULL,
    last_activity   INTEGER NOT NULL,
    last_seq        INTEGER NOT NULL DEFAULT 0,
    last_message_id BLOB REFERENCES messages (id),
    UNIQUE (member_a, member_b)
);

CREATE TABLE room_members (
    room_id       BLOB NOT NULL REFERENCES rooms (id),
    user_id       BLOB NOT NULL REFERENCES users (id),
    last_activity INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_by_activity
    ON room_members (user_id, last_activity DESC, room_id DESC);

CREATE TABLE messages (
    id          BLOB PRIMARY KEY NOT NULL,
    room_id     BLOB NOT NULL REFERENCES rooms (id),
    seq         INTEGER NOT NULL,
    sender_id   BLOB NOT NULL REFERENCES users (id),
    sender_name TEXT NOT NULL,
    text        TEXT NOT NULL,
    client_id   TEXT,
    ts          INTEGER NOT NULL,
    UNIQUE (room_id, seq)
);
CREATE UNIQUE INDEX messages_by_client_id
    ON messages (room_id, sender_id, client_id) WHERE client_id IS NOT NULL;
";

/// Group rooms.
///
/// - A group has `name` and `created_by` and no member pair (NULLs never collide in the UNIQUE
///   pair). Its name is changed in the same transaction that records the rename, so the
///   rename with the highest seq is the name.
/// - `room_members` holds every membership, direct and group, with a role and a join time.
///   Room lists now read the room's own `last_activity` (joined through `room_members_by_user`
///   and sorted): keeping a copy per member would cost a big group one row update per member
///   for every message.
/// - A timeline entry that records a membership change has its `event_*` columns set
///   (`chat_core::membership::EventParts`); chat messages leave them NULL.
const V2: &str = r"
ALTER TABLE rooms ADD COLUMN name TEXT;
ALTER TABLE rooms ADD COLUMN created_by BLOB REFERENCES users (id);

DROP INDEX room_members_by_activity;
ALTER TABLE room_members DROP COLUMN last_activity;
ALTER TABLE room_members ADD COLUMN role TEXT NOT NULL DEFAULT 'member';
ALTER TABLE room_members ADD COLUMN joined_at INTEGER NOT NULL DEFAULT 0;
CREATE INDEX room_members_by_user ON room_members (user_id);

ALTER TABLE messages ADD COLUMN event_kind TEXT;
ALTER TABLE messages ADD COLUMN event_user BLOB;
ALTER TABLE messages ADD COLUMN event_role TEXT;
ALTER TABLE messages ADD COLUMN event_name TEXT;
";

/// The write probe's one row: readiness upserts it through the writer thread, so a probe
/// takes the same path, lock and disk as every real write, and the table never grows.
const V3: &str = r"
CREATE TABLE health (
    id        INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    probed_at INTEGER NOT NULL
);
";

/// Revocation: each user's token generation, and sessions revoked one by one until their
/// token's expiry.
const V4: &str = r"
ALTER TABLE users ADD COLUMN token_generation INTEGER NOT NULL DEFAULT 0;

CREATE TABLE revoked_sessions (
    user_id    BLOB NOT NULL REFERENCES users (id),
    session_id BLOB NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, session_id)
);
";

/// Account status for operators (`chat_core::model::AccountStatus`): `active`, `disabled`
/// or `deleted`. Listing accounts and rooms walks the primary keys, so it needs no index.
const V5: &str = r"
ALTER TABLE users ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
";

/// Message search: an FTS5 index of every chat message, kept in step by triggers, so every
/// write path (appends in the group commit, and any later edit or deletion) updates it in the
/// same transaction, and indexing every message already stored.
///
/// - Contentless (`content=''`): the text lives once, in `messages`; the index keeps only
///   tokens, and `contentless_delete=1` lets a row be removed by rowid alone.
/// - Its rowid is the message's rowid, so "newest first" is a descending walk of the index.
/// - `room` holds the room id in lowercase hex as one token: a search ANDs the words with an
///   OR of the caller's rooms inside FTS5, which intersects the posting lists instead of
///   fetching every match of a common word and filtering it by room afterwards.
/// - `unicode61 remove_diacritics 2` folds case and accents (`cafe` finds `Café`).
/// - Membership entries (`event_kind` set) are never indexed.
/// - An edit is any `UPDATE OF text` (re-indexed); a deletion is a `DELETE` of the row, or an
///   update that sets `event_kind` or empties `text` (forgotten).
const V6: &str = r"
CREATE VIRTUAL TABLE messages_fts USING fts5(
    text, room,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.event_kind IS NULL AND new.text <> ''
BEGIN
    INSERT INTO messages_fts (rowid, text, room)
    VALUES (new.rowid, new.text, lower(hex(new.room_id)));
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, event_kind ON messages
BEGIN
    DELETE FROM messages_fts WHERE rowid = old.rowid;
    INSERT INTO messages_fts (rowid, text, room)
    SELECT new.rowid, new.text, lower(hex(new.room_id))
    WHERE new.event_kind IS NULL AND new.text <> '';
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
BEGIN
    DELETE FROM messages_fts WHERE rowid = old.rowid;
END;

INSERT INTO messages_fts (rowid, text, room)
SELECT rowid, text, lower(hex(room_id)) FROM messages
WHERE event_kind IS NULL AND text <> '';
";

/// Attachments.
///
/// - `files` holds the record of every uploaded file (its bytes are blobs, outside the
///   database). `message_id` is NULL until the file is attached; it names the message without
///   a foreign key because files are attached just before their message is inserted.
/// - The partial indexes serve the two ways files are found besides their id: a message's
///   files (deleted with it) and the unattached ones by age (the collector).
/// - `messages.attachments` keeps what a message shows of its files, as a JSON array of
///   `chat_core::files::Attachment`, NULL when it has none.
const V7: &str = r"
CREATE TABLE files (
    id           BLOB PRIMARY KEY NOT NULL,
    room_id      BLOB NOT NULL REFERENCES rooms (id),
    uploader_id  BLOB NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    width        INTEGER,
    height       INTEGER,
    created_at   INTEGER NOT NULL,
    message_id   BLOB
);
CREATE INDEX files_by_message ON files (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX files_unattached ON files (created_at, id) WHERE message_id IS NULL;

ALTER TABLE messages ADD COLUMN attachments TEXT;
";

/// Conversation state.
///
/// - `room_members.read_seq`: the member's read position; a room's unread count is its
///   `last_seq` minus this, so room lists never count messages.
/// - `messages.edited_at`, `deleted` (a tombstone: `text` is emptied in place, and the writer
///   runs with `secure_delete` so the old bytes are overwritten, not left in free pages; V6's
///   update trigger drops it from the search index), and
///   `changed_at`, the newest edit, deletion or reaction, which catch-up pages by through
///   `messages_by_change`.
/// - `reactions`: one row per (message, emoji, user); rowid order is the order they came in.
const V8: &str = r"
ALTER TABLE room_members ADD COLUMN read_seq INTEGER NOT NULL DEFAULT 0;

ALTER TABLE messages ADD COLUMN edited_at INTEGER;
ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN changed_at INTEGER;
CREATE INDEX messages_by_change ON messages (room_id, changed_at)
    WHERE changed_at IS NOT NULL;

CREATE TABLE reactions (
    message_id BLOB NOT NULL REFERENCES messages (id),
    emoji      TEXT NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id),
    PRIMARY KEY (message_id, emoji, user_id)
);
";

/// Users the host owns: one row per external id, naming the user it maps to (a user with a
/// placeholder email and no usable password).
const V9: &str = r"
CREATE TABLE external_users (
    external_id TEXT PRIMARY KEY NOT NULL,
    user_id     BLOB NOT NULL UNIQUE REFERENCES users (id)
) WITHOUT ROWID;
";

/// How large the WAL file may stay once it has been rewound (64 MiB); the checkpointer keeps it
/// near this under load.
const JOURNAL_SIZE_LIMIT: i64 = 64 << 20;

/// Appends write no room row.
///
/// - A room's last message, last seq and last activity are read from its newest entry, one
///   step down the `(room_id, seq)` index (`rows::head_seq`), instead of being copied into
///   `rooms` by every append: `rooms.last_seq` goes, and `rooms.last_message_id` (which a
///   foreign key keeps from being dropped) is emptied and no longer written.
/// - `rooms.last_activity` is the room's creation time (or a later change), and the newest
///   entry's time counts when it is later.
const V10: &str = r"
ALTER TABLE rooms DROP COLUMN last_seq;
UPDATE rooms SET last_message_id = NULL;
";

/// Settings for the one connection that writes: WAL so readers never wait for it,
/// `synchronous=NORMAL` so a commit costs no fsync yet survives a crash of the process (a
/// power loss may roll back the last commits), no automatic checkpoints (the checkpointer
/// thread does them), and foreign keys so no message or membership can point at nothing.
pub(crate) fn configure_writer(conn: &Connection) -> Result<(), SqliteError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
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
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    conn.pragma_update_and_check(None, "journal_size_limit", JOURNAL_SIZE_LIMIT, |row| {
        row.get::<_, i64>(0)
    })?;
    Ok(())
}

/// Settings for a read-only connection: it may briefly wait on a checkpoint or on recovery.
pub(crate) fn configure_reader(conn: &Connection) -> Result<(), SqliteError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
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
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    configure_reader(&conn)?;
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

#[cfg(test)]
mod tests {
    use chat_core::id::{RoomId, UserId};
    use chat_core::search::{SearchQuery, Terms};

    use super::*;
    use crate::{queries, search};

    /// A database written by the first release keeps its direct rooms, members and history.
    #[test]
    fn version_1_databases_migrate_with_their_rooms() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
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

    /// The search migration indexes the messages already stored, and no membership entry.
    #[test]
    fn the_search_migration_indexes_existing_messages() {
        let (mut conn, room) = version_4_database(&[
            ("old harbour news", None),
            ("harbour renamed", Some("renamed")),
            ("Crème brûlée at the harbour", None),
        ]);
        migrate(&mut conn).unwrap();
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
        )
        .unwrap();
        assert_eq!(next.message.seq, 4);
        let stored = queries::room(&conn, room).unwrap().unwrap();
        assert_eq!(stored.last_message.unwrap().id, next.message.id);
        assert!(stored.last_activity > stored.created_at);
    }

    /// Edits re-index and deletions forget, whatever statement makes them.
    #[test]
    fn edits_and_deletions_follow_the_index() {
        let (mut conn, room) = version_4_database(&[("first draft", None), ("second draft", None)]);
        migrate(&mut conn).unwrap();
        conn.execute(
            "UPDATE messages SET text = 'final version' WHERE seq = 1",
            [],
        )
        .unwrap();
        assert_eq!(found(&conn, room, "draft"), ["second draft"]);
        assert_eq!(found(&conn, room, "final"), ["final version"]);
        conn.execute("UPDATE messages SET text = '' WHERE seq = 1", [])
            .unwrap();
        assert!(found(&conn, room, "final").is_empty());
        conn.execute("DELETE FROM messages WHERE seq = 2", [])
            .unwrap();
        assert!(found(&conn, room, "draft").is_empty());
    }
}

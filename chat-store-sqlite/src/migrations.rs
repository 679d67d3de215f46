//! Every schema migration, oldest first, with what each one changes and why.
//!
//! Migration `n` (1-based) in [`MIGRATIONS`] takes a database from version `n - 1` to `n`.
//! Later releases append to the list and never edit an entry that has shipped.

/// Every migration, oldest first; the database's version is how many of them it has run.
pub(crate) const MIGRATIONS: &[&str] = &[
    V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13, V14, V15,
];

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

/// A narrow idempotency key.
///
/// - `messages_by_client_id` indexed `(room_id, sender_id, client_id)`, about 60 bytes an
///   entry, and every keyed append lands at its own room's place in it, so a group commit
///   across many rooms dirtied one of its pages per message. `client_key` is a 64-bit hash of
///   the sender and the `client_id` (`rows::client_key`, registered for this migration as
///   `chat_client_key`), and `messages_by_client_key` indexes it alone: about 18 bytes an
///   entry, a third of the pages.
/// - The index is not unique: a resend is found by its key and then compared on room, sender
///   and `client_id` in the row (`queries::message_by_client_id`), so a collision costs one
///   more row read, never a refused message. The lookup and the insert run in the writer's
///   transaction, which holds SQLite's write lock, so two resends cannot both insert.
/// - `admin` erasure empties `client_key` with `client_id`.
const V11: &str = r"
ALTER TABLE messages ADD COLUMN client_key INTEGER;
UPDATE messages SET client_key = chat_client_key(sender_id, client_id)
WHERE client_id IS NOT NULL;
DROP INDEX messages_by_client_id;
CREATE INDEX messages_by_client_key ON messages (client_key) WHERE client_key IS NOT NULL;
";

/// Search indexing behind the appends (`search_index`): inserts no longer index; the writer
/// indexes rows past `search_index_state.indexed_upto` in batches, and before every search.
/// Edits and deletions touch the index only for rows it already covers; a deletion lowers
/// the mark to the highest remaining rowid, so a rowid SQLite hands out again after the
/// newest row was deleted is still indexed.
const V12: &str = r"
CREATE TABLE search_index_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    indexed_upto INTEGER NOT NULL
);
INSERT INTO search_index_state (id, indexed_upto)
SELECT 1, coalesce(max(rowid), 0) FROM messages;

DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, event_kind ON messages
WHEN old.rowid <= (SELECT indexed_upto FROM search_index_state WHERE id = 1)
BEGIN
    DELETE FROM messages_fts WHERE rowid = old.rowid;
    INSERT INTO messages_fts (rowid, text, room)
    SELECT new.rowid, new.text, lower(hex(new.room_id))
    WHERE new.event_kind IS NULL AND new.text <> '';
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
BEGIN
    DELETE FROM messages_fts
    WHERE rowid = old.rowid
      AND old.rowid <= (SELECT indexed_upto FROM search_index_state WHERE id = 1);
    UPDATE search_index_state
    SET indexed_upto = (SELECT coalesce(max(rowid), 0) FROM messages)
    WHERE indexed_upto > (SELECT coalesce(max(rowid), 0) FROM messages);
END;
";

/// Senders' read positions stored behind their appends (`read_marks`): an append no longer
/// moves its sender's `room_members.read_seq`; the writer moves the positions of the senders
/// of every message past `read_marks_state.stored_upto` in bulk, and then the mark. Deleting
/// the newest rows lowers the mark to the highest remaining rowid, so a rowid SQLite hands
/// out again is past the mark.
const V13: &str = r"
CREATE TABLE read_marks_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    stored_upto INTEGER NOT NULL
);
INSERT INTO read_marks_state (id, stored_upto)
SELECT 1, coalesce(max(rowid), 0) FROM messages;

CREATE TRIGGER messages_read_marks_delete AFTER DELETE ON messages
BEGIN
    UPDATE read_marks_state
    SET stored_upto = (SELECT coalesce(max(rowid), 0) FROM messages)
    WHERE stored_upto > (SELECT coalesce(max(rowid), 0) FROM messages);
END;
";

/// No index of every idempotency key: resends are checked against the keys of each room's
/// newest entries, which the writer keeps in memory and reads down `(room_id, seq)`
/// (`recent_keys`). `client_key` is still stored with each keyed message, for those reads.
const V14: &str = r"
DROP INDEX messages_by_client_key;
";

/// The search index moves to a database file of its own (`search_db`), which a thread of its
/// own keeps up to date (`indexer`), so the writer neither indexes nor holds the write lock
/// while FTS5 merges segments, and the index's pages stay out of this database's WAL.
///
/// What is left here is what the indexer cannot see from the rows alone: `search_changes`
/// lists the rowid of every message whose text was edited, emptied or deleted, in order. The
/// indexer applies the entries past its own mark, and the writer deletes the entries the
/// indexer has made durable. `AUTOINCREMENT` never hands an id out twice, so a mark past the
/// highest id ever given means this database lost commits the index has (a power loss or a
/// restore), and the index is rebuilt.
const V15: &str = r"
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TABLE messages_fts;
DROP TABLE search_index_state;

CREATE TABLE search_changes (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    message_rowid INTEGER NOT NULL
);

CREATE TRIGGER messages_search_update AFTER UPDATE OF text, event_kind ON messages
BEGIN
    INSERT INTO search_changes (message_rowid) VALUES (old.rowid);
END;

CREATE TRIGGER messages_search_delete AFTER DELETE ON messages
BEGIN
    INSERT INTO search_changes (message_rowid) VALUES (old.rowid);
END;
";

#[cfg(test)]
mod tests {
    use chat_core::id::{FileId, MessageId, RoomId, UserId};
    use chat_core::model::NewMessage;
    use chat_core::search::{SearchQuery, Terms};
    use rusqlite::{Connection, params};

    use super::MIGRATIONS;
    use crate::recent_keys::RecentKeys;
    use crate::{
        file_records, queries, reactions, schema, search, search_db, search_index, writes,
    };

    /// A V10 database: two users in a direct room with three messages (two sent with a
    /// `client_id`, one with an attached file and a reaction), as V10's code wrote them.
    struct V10 {
        conn: Connection,
        room: RoomId,
        users: [UserId; 2],
        messages: [MessageId; 3],
        file: FileId,
    }

    fn version_10_database() -> V10 {
        let conn = Connection::open_in_memory().unwrap();
        for migration in &MIGRATIONS[..10] {
            conn.execute_batch(migration).unwrap();
        }
        conn.pragma_update(None, "user_version", 10).unwrap();
        let (a, b) = (UserId::generate(), UserId::generate());
        let users = if a <= b { [a, b] } else { [b, a] };
        for (i, user) in users.iter().enumerate() {
            conn.execute(
                "INSERT INTO users (id, email, name, name_folded, password_hash, created_at)
                 VALUES (?1, ?2, 'U', 'u', 'h', 5)",
                params![user.0.as_bytes(), format!("{i}@x")],
            )
            .unwrap();
        }
        let room = RoomId::generate();
        conn.execute(
            "INSERT INTO rooms (id, kind, member_a, member_b, created_at, last_activity)
             VALUES (?1, 'direct', ?2, ?3, 7, 7)",
            params![
                room.0.as_bytes(),
                users[0].0.as_bytes(),
                users[1].0.as_bytes()
            ],
        )
        .unwrap();
        for user in users {
            conn.execute(
                "INSERT INTO room_members (room_id, user_id, joined_at) VALUES (?1, ?2, 7)",
                params![room.0.as_bytes(), user.0.as_bytes()],
            )
            .unwrap();
        }
        let messages = [
            MessageId::generate(),
            MessageId::generate(),
            MessageId::generate(),
        ];
        let file = FileId::generate();
        let attachment = format!(
            r#"[{{"file_id":"{file}","name":"map.png","size":3,"content_type":"image/png"}}]"#
        );
        let rows: [(UserId, &str, Option<&str>, Option<&str>); 3] = [
            (users[0], "harbour at dawn", Some("c-1"), None),
            (users[1], "the harbour map", Some("c-1"), Some(&attachment)),
            (users[0], "no key here", None, None),
        ];
        for (seq, (sender, text, client_id, attachments)) in rows.into_iter().enumerate() {
            conn.execute(
                "INSERT INTO messages (id, room_id, seq, sender_id, sender_name, text,
                     client_id, ts, attachments)
                 VALUES (?1, ?2, ?3, ?4, 'U', ?5, ?6, 9, ?7)",
                params![
                    messages[seq].0.as_bytes(),
                    room.0.as_bytes(),
                    seq + 1,
                    sender.0.as_bytes(),
                    text,
                    client_id,
                    attachments,
                ],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO files (id, room_id, uploader_id, name, size, content_type, created_at,
                 message_id)
             VALUES (?1, ?2, ?3, 'map.png', 3, 'image/png', 8, ?4)",
            params![
                file.0.as_bytes(),
                room.0.as_bytes(),
                users[1].0.as_bytes(),
                messages[1].0.as_bytes()
            ],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO reactions (message_id, emoji, user_id) VALUES (?1, '👍', ?2)",
            params![messages[1].0.as_bytes(), users[0].0.as_bytes()],
        )
        .unwrap();
        V10 {
            conn,
            room,
            users,
            messages,
            file,
        }
    }

    fn resend(v10: &V10, sender: UserId, client_id: &str) -> NewMessage {
        NewMessage {
            id: MessageId::generate(),
            room_id: v10.room,
            sender_id: sender,
            sender_name: "U".into(),
            text: "again".into(),
            client_id: Some(client_id.into()),
            // Just after the history's own time, well within the age a resend is recognized at.
            timestamp: chrono::DateTime::from_timestamp_millis(10).unwrap(),
            attachments: Vec::new(),
        }
    }

    /// V11 carries a V10 database's history over: its messages, attachments, reactions, files
    /// and search index read back, and resends of messages stored before it still find their
    /// original.
    #[test]
    fn version_10_databases_keep_their_history_and_resends() {
        let mut v10 = version_10_database();
        schema::migrate(&mut v10.conn).unwrap();
        search_db::attach_in_memory(&v10.conn);
        search_index::reconcile(&mut v10.conn).unwrap();
        search_index::index_pending(&mut v10.conn).unwrap();
        let conn = &v10.conn;
        let mut keys = RecentKeys::new();

        let mut page = queries::page(conn, v10.room, None, 10).unwrap();
        reactions::attach(conn, &mut page).unwrap();
        let seen: Vec<(MessageId, u64, &str)> = page
            .iter()
            .map(|message| (message.id, message.seq, message.text.as_str()))
            .collect();
        assert_eq!(
            seen,
            [
                (v10.messages[2], 3, "no key here"),
                (v10.messages[1], 2, "the harbour map"),
                (v10.messages[0], 1, "harbour at dawn"),
            ]
        );
        assert_eq!(page[1].attachments.len(), 1);
        assert_eq!(page[1].attachments[0].file_id, v10.file);
        assert_eq!(page[1].reactions.len(), 1);
        assert_eq!(page[1].reactions[0].users, [v10.users[0]]);
        let file = file_records::file(conn, v10.file).unwrap().unwrap();
        assert_eq!(file.message_id, Some(v10.messages[1]));

        let query = SearchQuery {
            terms: Terms::parse("harbour").unwrap(),
            rooms: vec![v10.room],
            before: None,
            limit: 10,
        };
        let hits: Vec<MessageId> = search::search(conn, &query)
            .unwrap()
            .into_iter()
            .map(|message| message.id)
            .collect();
        assert_eq!(hits, [v10.messages[1], v10.messages[0]]);

        // Each sender's `c-1` finds its own original; the same key from a new sender does not.
        for (sender, original) in [(0, 0), (1, 1)] {
            let again =
                writes::append(conn, resend(&v10, v10.users[sender], "c-1"), &mut keys).unwrap();
            assert!(!again.created);
            assert_eq!(again.message.id, v10.messages[original]);
        }
        let fresh = writes::append(conn, resend(&v10, v10.users[0], "c-2"), &mut keys).unwrap();
        assert!(fresh.created);
        assert_eq!(fresh.message.seq, 4);
        let again = writes::append(conn, resend(&v10, v10.users[0], "c-2"), &mut keys).unwrap();
        assert_eq!((again.created, again.message.id), (false, fresh.message.id));
    }
}

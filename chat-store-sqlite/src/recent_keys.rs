//! Recognizing resends without an index over every idempotency key ever stored.
//!
//! A resend is found by its `client_key` (`rows::client_key`). An index of every message's key
//! (`messages_by_client_key`, V11 to V13) put each append at a random place in a tree as large
//! as the whole history: one more page read and dirtied per message, and once the history
//! outgrows the page cache, a read from the file as well. With 4 million messages stored the
//! writer spent twice as long per write as on a fresh database (BENCHMARKS.md).
//!
//! Clients resend within seconds or minutes, so the store promises to recognize a resend only
//! while its original is among the room's newest [`RESEND_WINDOW_ENTRIES`] entries and younger
//! than [`RESEND_WINDOW`]. The writer keeps the keys of those entries in memory, per room:
//! read for every room at once at start (`warmer`, one walk down the table), and for a room
//! that walk did not cover, from the `(room_id, seq)` index and the rows it points to the first
//! time the room needs them. The room's head, which every append reads anyway, says whether that memory is
//! complete: entries stored meanwhile by another process on the same file, or by writes that
//! do not record here (membership changes), are read back before the check. A key found is
//! compared in full on its row, so a collision, or a `client_id` erased since, never passes
//! for the original.
//!
//! Memory is bounded: past [`CAPACITY`] keys the rooms used longest ago are forgotten and
//! read again when needed.
//!
//! The room's head is also what the next append's seq follows, so the writer keeps it too and
//! skips reading it ([`RecentKeys::head`]) while nothing else can have written to the room: no
//! other connection committed (`PRAGMA data_version` is unchanged), and the writer's own
//! membership changes distrust their room. Seqs are dense, so a head trusted wrongly could
//! only be behind, and the insert after it would break the `(room_id, seq)` uniqueness:
//! `writes::append` then reads the head and tries once more.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use chat_core::id::RoomId;
use chat_core::store::{RESEND_WINDOW, RESEND_WINDOW_ENTRIES};
use rusqlite::Connection;

use crate::key_window::KeyWindow;
use crate::rows;

/// The most keys (plus one per room) kept before the rooms used longest ago are forgotten:
/// about 18 MiB of keys and their tags. Also the most rows [`RecentKeys::warm`] reads.
const CAPACITY: usize = 1 << 20;

/// How many rows [`RecentKeys::warm`] reads between asking whether to go on.
const STOP_CHECK: usize = 4096;

/// The keys of the rooms' newest entries, as the writer knows them.
#[derive(Debug)]
pub(crate) struct RecentKeys {
    rooms: HashMap<RoomId, RoomKeys>,
    /// Keys held, plus one per room.
    held: usize,
    capacity: usize,
    window: u64,
    /// Counts lookups, to tell which rooms were used longest ago.
    clock: u64,
    /// Moves on whenever another connection may have written: a room's head is trusted only
    /// if it was read or recorded since (`RoomKeys::checked`).
    generation: u64,
    /// The writer connection's `PRAGMA data_version` when it was last seen.
    data_version: Option<i64>,
}

/// One room's keys.
#[derive(Debug)]
struct RoomKeys {
    /// `keys` holds every keyed entry of the window with a seq from `from` up to `head`.
    from: u64,
    head: u64,
    /// The keyed entries among the newest `window`.
    keys: KeyWindow,
    used: u64,
    /// The generation in which `head` was last read from the database or recorded by this
    /// writer; [`UNCHECKED`] for heads that came from elsewhere (the warmer's walk).
    checked: u64,
}

/// A [`RoomKeys::checked`] no generation reaches.
const UNCHECKED: u64 = u64::MAX;

impl RecentKeys {
    /// Nothing known yet: each room's keys are read the first time it needs them.
    pub(crate) fn new() -> Self {
        Self::sized(RESEND_WINDOW_ENTRIES, CAPACITY)
    }

    fn sized(window: u64, capacity: usize) -> Self {
        RecentKeys {
            rooms: HashMap::new(),
            held: 0,
            capacity,
            window,
            clock: 0,
            generation: 0,
            data_version: None,
        }
    }

    /// `room`'s newest seq, when this writer knows it for certain: it read or recorded it, and
    /// nothing but its own appends has written to the room since. The writer then need not
    /// read the head from the database. Other writes of its own that add timeline entries
    /// (membership changes) [`distrust`](Self::distrust) the room first; other connections'
    /// commits show in [`Self::saw_data_version`].
    pub(crate) fn head(&self, room: RoomId) -> Option<u64> {
        self.rooms
            .get(&room)
            .filter(|known| known.checked == self.generation)
            .map(|known| known.head)
    }

    /// Takes note of the writer connection's `PRAGMA data_version`, read inside a group's
    /// transaction (`None` when it could not be read). A change means another connection
    /// committed, so no room's head is trusted until it is read again.
    pub(crate) fn saw_data_version(&mut self, version: Option<i64>) {
        if version.is_none() || version != self.data_version {
            self.generation += 1;
        }
        self.data_version = version;
    }

    /// Stops trusting `room`'s head: a write other than an append is about to add entries.
    pub(crate) fn distrust(&mut self, room: RoomId) {
        if let Some(known) = self.rooms.get_mut(&room) {
            known.checked = UNCHECKED;
        }
    }

    /// The seqs of the entries among `room`'s newest that carry `key`, newest first, once its
    /// keys are known up to `head` (the room's newest seq, read in this transaction); `now_ms`
    /// is the append's time, from which the age limit counts.
    pub(crate) fn candidates(
        &mut self,
        conn: &Connection,
        room: RoomId,
        head: u64,
        key: i64,
        now_ms: i64,
    ) -> rusqlite::Result<Vec<u64>> {
        self.clock += 1;
        let clock = self.clock;
        let generation = self.generation;
        let floor = head.saturating_sub(self.window);
        let known = match self.rooms.get_mut(&room) {
            Some(known) if known.head == head && known.from <= floor + 1 => known,
            _ => self.catch_up(conn, room, head, now_ms)?,
        };
        known.used = clock;
        known.checked = generation;
        Ok(known.keys.seqs_of(key))
    }

    /// Records the entry at `seq` that this writer just inserted into `room`, with its key if
    /// it has one, right after a head it trusted or had just read: the new head is trusted. A
    /// room this writer does not follow, or whose entries before `seq` it has not seen, is
    /// left to be read again when needed.
    pub(crate) fn record(&mut self, room: RoomId, seq: u64, key: Option<i64>) {
        let Some(known) = self.rooms.get_mut(&room) else {
            return;
        };
        if known.head + 1 != seq {
            self.forget(room);
            return;
        }
        known.head = seq;
        known.checked = self.generation;
        if let Some(key) = key {
            known.keys.push_newest(seq, key);
            self.held += 1;
        }
        self.trim(room);
    }

    /// Forgets everything: what was read or recorded in a group that did not commit may
    /// describe rows that do not exist.
    pub(crate) fn forget_all(&mut self) {
        self.rooms.clear();
        self.held = 0;
    }

    /// Makes `room`'s keys complete over its window up to `head`, reading what is missing
    /// (entries newer than it knew, older ones it never read).
    fn catch_up(
        &mut self,
        conn: &Connection,
        room: RoomId,
        head: u64,
        now_ms: i64,
    ) -> rusqlite::Result<&mut RoomKeys> {
        let floor = head.saturating_sub(self.window);
        let horizon = now_ms.saturating_sub(window_millis());
        let (mut from, known_head, mut keys) = match self.rooms.remove(&room) {
            Some(known) => {
                self.held -= known.keys.len() + 1;
                if known.head <= head {
                    (known.from, known.head, known.keys)
                } else {
                    (head + 1, head, KeyWindow::default())
                }
            }
            None => (head + 1, head, KeyWindow::default()),
        };
        if known_head < head {
            let newer = entries_between(conn, room, (known_head.max(floor), head + 1), horizon)?;
            for (seq, key) in newer.into_iter().rev() {
                keys.push_newest(seq, key);
            }
        }
        if from > floor + 1 {
            for (seq, key) in entries_between(conn, room, (floor, from), horizon)? {
                keys.push_oldest(seq, key);
            }
            from = floor + 1;
        }
        keys.drop_through(floor);
        self.held += keys.len() + 1;
        self.evict();
        Ok(self.rooms.entry(room).or_insert(RoomKeys {
            from,
            head,
            keys,
            used: self.clock,
            checked: self.generation,
        }))
    }

    /// Reads the keys of every room's newest entries at once, walking the table from its
    /// newest row down (in time order, several rooms' entries to a page, where reading room
    /// by room takes a page per entry), until the age limit or [`CAPACITY`] rows. A writer
    /// starting on a busy database would otherwise read each room's window on its first
    /// resend check, a page per entry, while the sends of every room wait behind it
    /// (`warmer` runs this off the writer). Answers how many rows it read, or `None` once
    /// `go_on` (asked every few thousand rows) says to stop, keeping nothing.
    pub(crate) fn warm(
        &mut self,
        conn: &Connection,
        now_ms: i64,
        go_on: impl Fn() -> bool,
    ) -> rusqlite::Result<Option<usize>> {
        let horizon = now_ms.saturating_sub(window_millis());
        let mut statement =
            conn.prepare("SELECT room_id, seq, client_key, ts FROM messages ORDER BY rowid DESC")?;
        let mut rows = statement.query([])?;
        let mut rooms: HashMap<RoomId, RoomKeys> = HashMap::new();
        let mut walked = 0;
        let mut whole = false;
        loop {
            if walked == self.capacity {
                break;
            }
            let Some(row) = rows.next()? else {
                whole = true;
                break;
            };
            walked += 1;
            if walked % STOP_CHECK == 0 && !go_on() {
                return Ok(None);
            }
            if row.get::<_, i64>(3)? < horizon {
                whole = true;
                break;
            }
            let room = RoomId(rows::raw_id(row, 0)?);
            let seq: u64 = row.get(1)?;
            let known = rooms.entry(room).or_insert(RoomKeys {
                from: seq + 1,
                head: seq,
                keys: KeyWindow::default(),
                used: 0,
                checked: UNCHECKED,
            });
            if seq + self.window <= known.head {
                continue;
            }
            known.from = seq;
            if let Some(key) = row.get::<_, Option<i64>>(2)? {
                known.keys.push_oldest(seq, key);
            }
        }
        if whole {
            for known in rooms.values_mut() {
                known.from = 0;
            }
        }
        self.held = rooms.values().map(|known| known.keys.len() + 1).sum();
        self.rooms = rooms;
        Ok(Some(walked))
    }

    /// Takes on the rooms `warmed` read that this writer has not read itself meanwhile: a
    /// room's head says what was appended since, which is read back when the room is next
    /// checked. They count as used longest ago.
    pub(crate) fn adopt(&mut self, warmed: RecentKeys) {
        for (room, known) in warmed.rooms {
            if let Entry::Vacant(slot) = self.rooms.entry(room) {
                self.held += known.keys.len() + 1;
                slot.insert(RoomKeys {
                    used: 0,
                    checked: UNCHECKED,
                    ..known
                });
            }
        }
        self.evict();
    }

    /// Drops `room`'s keys that fell out of its window.
    fn trim(&mut self, room: RoomId) {
        let Some(known) = self.rooms.get_mut(&room) else {
            return;
        };
        let floor = known.head.saturating_sub(self.window);
        self.held -= known.keys.drop_through(floor);
    }

    fn forget(&mut self, room: RoomId) {
        if let Some(known) = self.rooms.remove(&room) {
            self.held -= known.keys.len() + 1;
        }
    }

    /// Past capacity, forgets the rooms used longest ago until a quarter of it is free, so
    /// that the sort this takes runs rarely.
    fn evict(&mut self) {
        if self.held <= self.capacity {
            return;
        }
        let mut by_use: Vec<(u64, RoomId)> = self
            .rooms
            .iter()
            .map(|(&room, known)| (known.used, room))
            .collect();
        by_use.sort_unstable();
        let target = self.capacity - self.capacity / 4;
        for (_, room) in by_use {
            if self.held <= target {
                break;
            }
            self.forget(room);
        }
    }
}

/// [`RESEND_WINDOW`] in milliseconds, as rows store time.
fn window_millis() -> i64 {
    i64::try_from(RESEND_WINDOW.as_millis()).unwrap_or(i64::MAX)
}

/// The keyed entries of `room` with a seq strictly between `above` and `below`, newest
/// first, read down the `(room_id, seq)` index, stopping at the first entry stored before
/// `horizon` (a room's entries are stored in time order, so none below it is younger).
fn entries_between(
    conn: &Connection,
    room: RoomId,
    (above, below): (u64, u64),
    horizon: i64,
) -> rusqlite::Result<Vec<(u64, i64)>> {
    let mut statement = conn.prepare_cached(
        "SELECT seq, client_key, ts FROM messages
         WHERE room_id = ?1 AND seq > ?2 AND seq < ?3 ORDER BY seq DESC",
    )?;
    let mut rows = statement.query((room.0.as_bytes(), above, below))?;
    let mut found = Vec::new();
    while let Some(row) = rows.next()? {
        if row.get::<_, i64>(2)? < horizon {
            break;
        }
        if let Some(key) = row.get::<_, Option<i64>>(1)? {
            found.push((row.get(0)?, key));
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use chat_core::model::{User, now};
    use chat_core::testing::fixtures::{new_message, new_user};

    use super::*;
    use crate::{rows, schema, writes};

    /// A migrated database with Ann in a direct room with Bob.
    fn database() -> (Connection, RoomId, User) {
        let mut conn = Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let ann = writes::insert_user(&conn, new_user("Ann")).unwrap();
        let bob = writes::insert_user(&conn, new_user("Bob")).unwrap();
        let room = writes::direct_room(&conn, (ann.id, bob.id), now()).unwrap();
        (conn, room.id, ann)
    }

    /// A second room for `ann`, with Cat.
    fn second_room(conn: &Connection, ann: &User) -> RoomId {
        let cat = writes::insert_user(conn, new_user("Cat")).unwrap();
        writes::direct_room(conn, (ann.id, cat.id), now())
            .unwrap()
            .id
    }

    /// Appends a message from `sender` through `keys`, keyed when `client_id` is given;
    /// answers whether it was stored (false: recognized as a resend).
    fn send(
        conn: &Connection,
        keys: &mut RecentKeys,
        room: RoomId,
        sender: &User,
        client_id: Option<&str>,
    ) -> bool {
        let message = new_message(room, sender, "hi", client_id);
        writes::append(conn, message, keys).unwrap().created
    }

    #[test]
    fn a_resend_is_recognized_until_its_original_leaves_the_window() {
        let (conn, room, ann) = database();
        let mut keys = RecentKeys::sized(4, CAPACITY);
        assert!(send(&conn, &mut keys, room, &ann, Some("k")));
        for _ in 0..3 {
            assert!(send(&conn, &mut keys, room, &ann, None));
        }
        assert!(!send(&conn, &mut keys, room, &ann, Some("k")));
        assert!(send(&conn, &mut keys, room, &ann, None));
        assert!(send(&conn, &mut keys, room, &ann, Some("k")));
    }

    #[test]
    fn entries_this_writer_did_not_record_are_read_back() {
        let (conn, room, ann) = database();
        let mut keys = RecentKeys::sized(8, CAPACITY);
        assert!(send(&conn, &mut keys, room, &ann, Some("a")));
        let mut other_writer = RecentKeys::sized(8, CAPACITY);
        assert!(send(&conn, &mut other_writer, room, &ann, Some("b")));
        assert!(!send(&conn, &mut keys, room, &ann, Some("b")));
        assert!(!send(&conn, &mut keys, room, &ann, Some("a")));
    }

    #[test]
    fn forgotten_rooms_are_read_again() {
        let (conn, room, ann) = database();
        let other = second_room(&conn, &ann);
        let mut keys = RecentKeys::sized(8, 3);
        assert!(send(&conn, &mut keys, room, &ann, Some("a")));
        assert!(send(&conn, &mut keys, room, &ann, Some("b")));
        assert!(send(&conn, &mut keys, other, &ann, Some("c")));
        assert!(!keys.rooms.contains_key(&room), "{keys:?}");
        assert!(!send(&conn, &mut keys, room, &ann, Some("a")));
        keys.forget_all();
        assert!(!send(&conn, &mut keys, room, &ann, Some("b")));
        assert!(!send(&conn, &mut keys, other, &ann, Some("c")));
    }

    #[test]
    fn warming_reads_every_rooms_newest_keys_at_once() {
        let (conn, room, ann) = database();
        let other = second_room(&conn, &ann);
        let mut first = RecentKeys::sized(8, CAPACITY);
        for (target, key) in [(room, "a"), (other, "b"), (room, "c"), (other, "d")] {
            assert!(send(&conn, &mut first, target, &ann, Some(key)));
        }
        let mut warmed = RecentKeys::sized(8, CAPACITY);
        assert_eq!(
            warmed.warm(&conn, rows::millis(now()), || true).unwrap(),
            Some(4)
        );
        assert_eq!(warmed.rooms.len(), 2);
        assert_eq!(warmed.held, 6);
        assert_eq!(warmed.rooms[&room].from, 0, "the whole table was read");
        assert_eq!(warmed.rooms[&room].head, 2);
        assert!(!send(&conn, &mut warmed, room, &ann, Some("a")));
        assert!(!send(&conn, &mut warmed, other, &ann, Some("d")));

        let mut capped = RecentKeys::sized(8, 2);
        capped.warm(&conn, rows::millis(now()), || true).unwrap();
        assert_eq!(
            capped.rooms[&room].from, 2,
            "only the newest rows were read"
        );
        assert!(!send(&conn, &mut capped, room, &ann, Some("a")));
        assert!(send(&conn, &mut capped, room, &ann, Some("e")));
    }

    #[test]
    fn adopted_rooms_are_brought_up_to_date() {
        let (conn, room, ann) = database();
        let other = second_room(&conn, &ann);
        let mut elsewhere = RecentKeys::sized(8, CAPACITY);
        assert!(send(&conn, &mut elsewhere, other, &ann, Some("y")));
        let mut warmed = RecentKeys::sized(8, CAPACITY);
        warmed.warm(&conn, rows::millis(now()), || true).unwrap();
        assert!(send(&conn, &mut elsewhere, other, &ann, Some("z")));

        let mut keys = RecentKeys::sized(8, CAPACITY);
        assert!(send(&conn, &mut keys, room, &ann, Some("a")));
        keys.adopt(warmed);
        assert_eq!(keys.rooms[&other].head, 1, "as the walk saw it");
        assert!(!send(&conn, &mut keys, other, &ann, Some("z")));
        assert!(!send(&conn, &mut keys, other, &ann, Some("y")));
        assert!(!send(&conn, &mut keys, room, &ann, Some("a")));
    }

    #[test]
    fn warming_stops_when_told() {
        let (conn, room, ann) = database();
        let mut keys = RecentKeys::sized(8, CAPACITY);
        for i in 0..STOP_CHECK {
            assert!(send(&conn, &mut keys, room, &ann, Some(&i.to_string())));
        }
        let mut warmed = RecentKeys::sized(8, CAPACITY);
        assert_eq!(
            warmed.warm(&conn, rows::millis(now()), || false).unwrap(),
            None
        );
        assert!(warmed.rooms.is_empty());
    }

    #[test]
    fn a_colliding_key_is_not_taken_for_the_original() {
        let (conn, room, ann) = database();
        let mut keys = RecentKeys::sized(8, CAPACITY);
        assert!(send(&conn, &mut keys, room, &ann, Some("a")));
        conn.execute(
            "UPDATE messages SET client_key = ?1",
            [rows::client_key(ann.id, "b")],
        )
        .unwrap();
        keys.forget_all();
        assert!(send(&conn, &mut keys, room, &ann, Some("b")));
    }

    #[test]
    fn reading_stops_at_entries_older_than_the_age_limit() {
        let (conn, room, ann) = database();
        let mut keys = RecentKeys::sized(8, CAPACITY);
        assert!(send(&conn, &mut keys, room, &ann, Some("old")));
        assert!(send(&conn, &mut keys, room, &ann, Some("new")));
        conn.execute(
            "UPDATE messages SET ts = ts - ?1 WHERE seq = 1",
            [window_millis() + 1],
        )
        .unwrap();
        let mut cold = RecentKeys::sized(8, CAPACITY);
        let new = rows::client_key(ann.id, "new");
        let found = cold.candidates(&conn, room, 2, new, rows::millis(now()));
        assert_eq!(found.unwrap(), vec![2]);
        assert_eq!(cold.rooms[&room].keys.len(), 1);
    }

    /// Appends a message through `keys` and answers its seq.
    fn seq_of_send(conn: &Connection, keys: &mut RecentKeys, room: RoomId, sender: &User) -> u64 {
        let message = new_message(room, sender, "hi", None);
        writes::append(conn, message, keys).unwrap().message.seq
    }

    #[test]
    fn a_head_is_trusted_until_something_else_may_have_written() {
        let (conn, room, ann) = database();
        let mut keys = RecentKeys::sized(8, CAPACITY);
        keys.saw_data_version(Some(7));
        assert_eq!(keys.head(room), None, "never read");
        assert!(send(&conn, &mut keys, room, &ann, Some("a")));
        assert_eq!(keys.head(room), Some(1));
        assert_eq!(seq_of_send(&conn, &mut keys, room, &ann), 2);
        assert_eq!(keys.head(room), Some(2));

        keys.distrust(room);
        assert_eq!(keys.head(room), None, "a membership change is coming");
        assert_eq!(seq_of_send(&conn, &mut keys, room, &ann), 3);
        assert_eq!(keys.head(room), Some(3), "read, then recorded");

        keys.saw_data_version(Some(7));
        assert_eq!(keys.head(room), Some(3), "no other connection wrote");
        keys.saw_data_version(Some(8));
        assert_eq!(keys.head(room), None, "another connection wrote");
        assert_eq!(seq_of_send(&conn, &mut keys, room, &ann), 4);
        keys.saw_data_version(None);
        assert_eq!(keys.head(room), None, "the version could not be read");
    }

    #[test]
    fn a_head_left_behind_is_read_again() {
        let (conn, room, ann) = database();
        let mut keys = RecentKeys::sized(8, CAPACITY);
        assert!(send(&conn, &mut keys, room, &ann, Some("a")));
        let mut other_writer = RecentKeys::sized(8, CAPACITY);
        assert_eq!(seq_of_send(&conn, &mut other_writer, room, &ann), 2);
        assert_eq!(keys.head(room), Some(1), "stale, and trusted");
        assert_eq!(seq_of_send(&conn, &mut keys, room, &ann), 3);
        assert!(send(&conn, &mut keys, room, &ann, Some("b")));
        assert_eq!(keys.head(room), Some(4));
        assert!(!send(&conn, &mut keys, room, &ann, Some("a")));
    }

    /// What [`RecentKeys::saw_data_version`] relies on: a connection's `data_version` moves
    /// when another connection commits, and not for its own commits or for the checkpoints the
    /// checkpointer runs.
    #[test]
    fn data_version_moves_only_for_other_connections_commits() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.sqlite3");
        let mut writer = Connection::open(&path).unwrap();
        schema::configure_writer(&writer).unwrap();
        schema::migrate(&mut writer).unwrap();
        let other = Connection::open(&path).unwrap();
        let version = |conn: &Connection| -> i64 {
            conn.query_row("PRAGMA data_version", [], |row| row.get(0))
                .unwrap()
        };
        writes::insert_user(&writer, new_user("Ann")).unwrap();
        let seen = version(&writer);
        for mode in ["PASSIVE", "RESTART"] {
            other
                .query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
                .unwrap();
            writes::insert_user(&writer, new_user("Bob")).unwrap();
            assert_eq!(version(&writer), seen, "after a {mode} checkpoint");
        }
        writes::insert_user(&other, new_user("Cat")).unwrap();
        assert_ne!(version(&writer), seen);
    }

    #[test]
    fn reading_a_room_walks_its_seq_index() {
        let (conn, _, _) = database();
        let plan: Vec<String> = conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT seq, client_key, ts FROM messages
                 WHERE room_id = ?1 AND seq > ?2 AND seq < ?3 ORDER BY seq DESC",
            )
            .unwrap()
            .query_map((b"r".as_slice(), 0, 8), |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(plan.len(), 1, "{plan:?}");
        assert!(
            plan[0].starts_with("SEARCH messages USING INDEX sqlite_autoindex_messages"),
            "{plan:?}"
        );
    }
}

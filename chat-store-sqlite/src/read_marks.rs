//! Senders' read positions, stored behind their appends.
//!
//! Sending a message moves the sender's read position up to it. Writing that move into
//! `room_members` with every append cost each message an UPDATE, a SELECT and one more
//! dirtied page in the group commit, since every sender's row sits on a page of its own
//! room. Instead:
//!
//! - once a group commits, the writer records its appends' moves here ([`ReadMarks`]), before
//!   it answers the senders;
//! - readers take the higher of the stored position and the one recorded here, so nobody sees
//!   the lag;
//! - the writer stores the moves in bulk ([`store_pending`]): for every message past
//!   `read_marks_state.stored_upto` (V13), the sender's position goes up to its newest seq,
//!   and the mark moves to the newest message. It does that inside the first group's
//!   transaction once [`STORE_EVERY`] has passed since the last time (an idle writer is
//!   reminded by the `reminder` thread), before any write that changes memberships, before a
//!   flush, when it stops and when it starts. The moves are read back from the messages
//!   themselves, so a crash or `kill -9` loses none: the next start stores them.
//!
//! Another process writing the same file stores its own senders' moves the same way, so this
//! process's readers see its senders' positions up to about [`STORE_EVERY`] late.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chat_core::id::{RoomId, UserId};
use rusqlite::Connection;

use crate::rows::raw_id;

/// How long a sender's read position may wait in memory before the writer stores it.
pub(crate) const STORE_EVERY: Duration = Duration::from_millis(500);

/// Read positions whose moves are committed with their messages but not yet in
/// `room_members`: the highest seq each sender sent in each room.
#[derive(Default)]
pub(crate) struct ReadMarks {
    pending: Mutex<HashMap<(RoomId, UserId), u64>>,
}

impl ReadMarks {
    /// Records the moves of messages that just committed.
    pub(crate) fn record(&self, moves: &[(RoomId, UserId, u64)]) {
        if moves.is_empty() {
            return;
        }
        let mut pending = self.lock();
        for &(room, user, seq) in moves {
            let position = pending.entry((room, user)).or_insert(seq);
            *position = (*position).max(seq);
        }
    }

    /// Raises each stored position to the pending one of the same member. Readers take the
    /// pending positions before they read the stored ones: a move stored (and forgotten here)
    /// in between is then in what they read.
    pub(crate) fn pending(&self, keys: &[(RoomId, UserId)]) -> Vec<u64> {
        let pending = self.lock();
        keys.iter()
            .map(|key| pending.get(key).copied().unwrap_or(0))
            .collect()
    }

    /// Whether anything waits to be stored.
    pub(crate) fn any(&self) -> bool {
        !self.lock().is_empty()
    }

    /// Forgets every pending move: all of them were stored by a commit that just succeeded.
    pub(crate) fn forget(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(RoomId, UserId), u64>> {
        self.pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// When the writer last stored the pending moves, to store them again every [`STORE_EVERY`].
pub(crate) struct StoreClock {
    last: Instant,
}

impl StoreClock {
    /// A clock that just stored.
    pub(crate) fn new() -> Self {
        StoreClock {
            last: Instant::now(),
        }
    }

    /// Whether moves are pending and the last store is [`STORE_EVERY`] old.
    pub(crate) fn due(&self, marks: &ReadMarks, now: Instant) -> bool {
        now.duration_since(self.last) >= STORE_EVERY && marks.any()
    }

    /// Notes that the pending moves were stored at `now`.
    pub(crate) fn stored(&mut self, now: Instant) {
        self.last = now;
    }
}

/// Moves each sender's read position up to the newest seq they sent among the messages past
/// the mark, and the mark to the newest message, inside the caller's transaction.
pub(crate) fn store_pending(conn: &Connection) -> rusqlite::Result<()> {
    let stored_upto: i64 = conn
        .prepare_cached("SELECT stored_upto FROM read_marks_state WHERE id = 1")?
        .query_row([], |row| row.get(0))?;
    let mut sent = conn.prepare_cached(SENT_PAST_THE_MARK)?;
    let mut raise = conn.prepare_cached(
        "UPDATE room_members SET read_seq = max(read_seq, ?3) WHERE room_id = ?1 AND user_id = ?2",
    )?;
    let mut rows = sent.query([stored_upto])?;
    while let Some(row) = rows.next()? {
        raise.execute((
            raw_id(row, 0)?.as_bytes(),
            raw_id(row, 1)?.as_bytes(),
            row.get::<_, i64>(2)?,
        ))?;
    }
    conn.prepare_cached(
        "UPDATE read_marks_state
         SET stored_upto = (SELECT coalesce(max(rowid), 0) FROM messages) WHERE id = 1",
    )?
    .execute([])?;
    Ok(())
}

/// The newest seq each sender sent in each room past rowid `?1`. `NOT INDEXED` keeps it a
/// range of the table's rowids: left to itself, SQLite walks the whole `(room_id, seq)` index
/// to group without sorting, which costs the whole history every time.
const SENT_PAST_THE_MARK: &str = "SELECT room_id, sender_id, max(seq) FROM messages NOT INDEXED
     WHERE rowid > ?1 GROUP BY room_id, sender_id";

#[cfg(test)]
mod tests {
    use chat_core::id::{RoomId, UserId};
    use chat_core::model::{User, now};
    use chat_core::testing::fixtures::{new_message, new_user};
    use rusqlite::Connection;

    use super::{ReadMarks, store_pending};
    use crate::recent_keys::RecentKeys;
    use crate::{conversation, schema, writes};

    #[test]
    fn pending_positions_keep_the_highest_seq_per_member() {
        let marks = ReadMarks::default();
        let (room, other_room) = (RoomId::generate(), RoomId::generate());
        let (ann, bob) = (UserId::generate(), UserId::generate());
        marks.record(&[(room, ann, 4), (room, bob, 5)]);
        marks.record(&[(room, ann, 7), (room, bob, 3), (other_room, ann, 2)]);
        let unknown = (RoomId::generate(), ann);
        assert_eq!(
            marks.pending(&[(room, ann), (room, bob), (other_room, ann), unknown]),
            vec![7, 5, 2, 0]
        );
        assert!(marks.any());
        marks.forget();
        assert!(!marks.any());
        assert_eq!(marks.pending(&[(room, ann)]), vec![0]);
    }

    /// A migrated database with Ann and Bob in a direct room.
    fn direct_room() -> (Connection, RoomId, User, User) {
        let mut conn = Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let ann = writes::insert_user(&conn, new_user("Ann")).unwrap();
        let bob = writes::insert_user(&conn, new_user("Bob")).unwrap();
        let room = writes::direct_room(&conn, (ann.id, bob.id), now()).unwrap();
        (conn, room.id, ann, bob)
    }

    fn send(conn: &Connection, room: RoomId, sender: &User) -> u64 {
        let message = new_message(room, sender, "hi", None);
        writes::append(conn, message, &mut RecentKeys::new())
            .unwrap()
            .message
            .seq
    }

    fn positions(conn: &Connection, room: RoomId, users: [&User; 2]) -> Vec<u64> {
        conversation::read_positions(conn, &[(room, users[0].id), (room, users[1].id)]).unwrap()
    }

    fn stored_upto(conn: &Connection) -> i64 {
        conn.query_row("SELECT stored_upto FROM read_marks_state", [], |row| {
            row.get(0)
        })
        .unwrap()
    }

    #[test]
    fn appends_leave_positions_to_the_bulk_store_which_keeps_the_highest() {
        let (conn, room, ann, bob) = direct_room();
        send(&conn, room, &ann);
        send(&conn, room, &ann);
        send(&conn, room, &bob);
        conversation::mark_read(&conn, room, bob.id, 9).unwrap();
        assert_eq!(positions(&conn, room, [&ann, &bob]), vec![0, 9]);

        store_pending(&conn).unwrap();
        assert_eq!(positions(&conn, room, [&ann, &bob]), vec![2, 9]);
        assert_eq!(stored_upto(&conn), 3);

        let fourth = send(&conn, room, &bob);
        let fifth = send(&conn, room, &ann);
        conversation::mark_read(&conn, room, ann.id, 1).unwrap();
        store_pending(&conn).unwrap();
        assert_eq!((fourth, fifth), (4, 5));
        assert_eq!(positions(&conn, room, [&ann, &bob]), vec![5, 9]);
        assert_eq!(stored_upto(&conn), 5);
    }

    /// The bulk store reads only the messages past the mark, never the whole history.
    #[test]
    fn the_bulk_store_reads_a_range_of_rowids() {
        let (conn, ..) = direct_room();
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {}", super::SENT_PAST_THE_MARK))
            .unwrap()
            .query_map([0], |row| row.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(
            plan.iter()
                .any(|step| step.starts_with("SEARCH messages USING INTEGER PRIMARY KEY")),
            "{plan:?}"
        );
        assert!(
            !plan.iter().any(|step| step.starts_with("SCAN")),
            "{plan:?}"
        );
    }

    /// SQLite hands the rowid of a deleted newest row out again; the mark steps back below
    /// it, so the next message's move is still stored.
    #[test]
    fn deleting_the_newest_messages_lowers_the_mark() {
        let (conn, room, ann, bob) = direct_room();
        send(&conn, room, &ann);
        send(&conn, room, &ann);
        store_pending(&conn).unwrap();
        assert_eq!(stored_upto(&conn), 2);
        conn.execute("DELETE FROM messages WHERE seq = 1", [])
            .unwrap();
        assert_eq!(
            stored_upto(&conn),
            2,
            "a row below the newest leaves the mark"
        );
        conn.execute("DELETE FROM messages WHERE seq = 2", [])
            .unwrap();
        assert_eq!(stored_upto(&conn), 0);

        let reused = send(&conn, room, &bob);
        let rowid: i64 = conn
            .query_row(
                "SELECT rowid FROM messages WHERE seq = ?1",
                [reused],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(rowid, 1);
        store_pending(&conn).unwrap();
        assert_eq!(positions(&conn, room, [&ann, &bob]), vec![2, reused]);
    }
}

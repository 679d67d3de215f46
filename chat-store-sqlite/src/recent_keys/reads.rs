//! What the writer's memory of the rooms' newest keys reads from the database: one room's
//! entries down the `(room_id, seq)` index, and every room's at once, walking the table from its
//! newest row (the warmer's start-up read).

use std::collections::HashMap;

use chat_core::id::RoomId;
use chat_core::store::RESEND_WINDOW;
use rusqlite::Connection;

use super::{KeyWindow, RecentKeys, RoomKeys, UNCHECKED};
use crate::rows;

/// How many rows [`RecentKeys::warm`] reads between asking whether to go on.
pub(super) const STOP_CHECK: usize = 4096;

impl RecentKeys {
    /// Reads the keys of every room's newest entries at once, walking the table from its
    /// newest row down (in time order, several rooms' entries to a page, where reading room
    /// by room takes a page per entry), until the age limit or [`CAPACITY`](super::CAPACITY) rows. A writer
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
}

/// [`RESEND_WINDOW`] in milliseconds, as rows store time.
pub(super) fn window_millis() -> i64 {
    i64::try_from(RESEND_WINDOW.as_millis()).unwrap_or(i64::MAX)
}

/// The keyed entries of `room` with a seq strictly between `above` and `below`, newest
/// first, read down the `(room_id, seq)` index, stopping at the first entry stored before
/// `horizon` (a room's entries are stored in time order, so none below it is younger).
pub(super) fn entries_between(
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

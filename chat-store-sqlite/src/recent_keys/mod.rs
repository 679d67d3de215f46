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
//! than [`RESEND_WINDOW`](chat_core::store::RESEND_WINDOW). The writer keeps the keys of those entries in memory, per room:
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
use chat_core::store::RESEND_WINDOW_ENTRIES;
use rusqlite::Connection;

use crate::key_window::KeyWindow;

mod reads;

use reads::{entries_between, window_millis};

/// The most keys (plus one per room) kept before the rooms used longest ago are forgotten:
/// about 18 MiB of keys and their tags. Also the most rows [`RecentKeys::warm`] reads.
const CAPACITY: usize = 1 << 20;

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

#[cfg(test)]
mod tests;

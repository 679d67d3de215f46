//! One room's idempotency keys over its resend window, with a 16-bit tag of each key kept
//! alongside, so that checking a new key reads an eighth of the bytes.
//!
//! Every keyed append checks its key against its room's window, up to 1,024 keys (`recent_keys`).
//! Almost every key is new, so the check used to walk all of them: 16 KiB of `(seq, key)` pairs a
//! room, which with hundreds of busy rooms are rarely still in the CPU's caches, and the walk
//! stalled on memory (3% of the server's CPU at 8,000 msg/s on a 370 MB database,
//! BENCHMARKS.md). The tags are 2 KiB a room, contiguous and compared many at a time; the pairs
//! are read only when a tag matches, which a new key does with a chance of about 1.5% in a full
//! window.

use std::collections::VecDeque;

/// Tags compared in one step: 64 bytes, a cache line.
const LANES: usize = 32;

/// The keyed entries of one room's window, oldest first.
#[derive(Debug, Default)]
pub(crate) struct KeyWindow {
    /// `(seq, client_key)`, oldest first.
    entries: VecDeque<(u64, i64)>,
    /// [`tag`] of each entry's key, in the same order.
    tags: VecDeque<u16>,
}

impl KeyWindow {
    /// How many keyed entries the window holds.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds an entry newer than every entry held.
    pub(crate) fn push_newest(&mut self, seq: u64, key: i64) {
        self.entries.push_back((seq, key));
        self.tags.push_back(tag(key));
    }

    /// Adds an entry older than every entry held.
    pub(crate) fn push_oldest(&mut self, seq: u64, key: i64) {
        self.entries.push_front((seq, key));
        self.tags.push_front(tag(key));
    }

    /// Drops the entries with a seq at or below `floor`, out of the window; answers how many.
    /// Walks from the oldest entry: an append drops one entry or none, and reading only the
    /// front keeps that to one cache line (a binary search touched a dozen).
    pub(crate) fn drop_through(&mut self, floor: u64) -> usize {
        let mut stale = 0;
        while self.entries.front().is_some_and(|&(seq, _)| seq <= floor) {
            self.entries.pop_front();
            self.tags.pop_front();
            stale += 1;
        }
        stale
    }

    /// The seqs of the entries that carry `key`, newest first.
    pub(crate) fn seqs_of(&self, key: i64) -> Vec<u64> {
        let wanted = tag(key);
        let (older, newer) = self.tags.as_slices();
        if !holds(older, wanted) && !holds(newer, wanted) {
            return Vec::new();
        }
        self.entries
            .iter()
            .rev()
            .filter(|&&(_, stored)| stored == key)
            .map(|&(seq, _)| seq)
            .collect()
    }
}

/// The key's top 16 bits: the best mixed of an FNV-1a hash, whose last step is a multiply.
fn tag(key: i64) -> u16 {
    let [high, next, ..] = key.to_be_bytes();
    u16::from_be_bytes([high, next])
}

/// Whether `tags` holds `wanted`; each chunk is compared without a branch per tag, which the
/// compiler turns into vector compares.
fn holds(tags: &[u16], wanted: u16) -> bool {
    tags.chunks(LANES).any(|chunk| {
        chunk
            .iter()
            .fold(false, |seen, &tag| seen | (tag == wanted))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two keys with the same tag: the same top 16 bits, different below.
    const SHARED_TAG: [i64; 2] = [0x1234_0000_0000_0001, 0x1234_0000_0000_0002];

    #[test]
    fn finds_every_entry_of_a_key_newest_first() {
        let mut window = KeyWindow::default();
        window.push_newest(3, 7);
        window.push_newest(4, 9);
        window.push_newest(6, 7);
        window.push_oldest(1, 7);
        assert_eq!(window.seqs_of(7), vec![6, 3, 1]);
        assert_eq!(window.seqs_of(9), vec![4]);
        assert_eq!(window.seqs_of(8), Vec::<u64>::new());
    }

    #[test]
    fn a_shared_tag_is_not_a_match() {
        let mut window = KeyWindow::default();
        window.push_newest(1, SHARED_TAG[0]);
        assert_eq!(tag(SHARED_TAG[0]), tag(SHARED_TAG[1]));
        assert_eq!(window.seqs_of(SHARED_TAG[1]), Vec::<u64>::new());
        assert_eq!(window.seqs_of(SHARED_TAG[0]), vec![1]);
    }

    #[test]
    fn dropping_keeps_entries_and_tags_in_step() {
        let mut window = KeyWindow::default();
        for seq in 1..=10 {
            window.push_newest(seq, i64::try_from(seq).unwrap() << 48);
        }
        assert_eq!(window.drop_through(4), 4);
        assert_eq!(window.len(), 6);
        assert_eq!(window.seqs_of(4 << 48), Vec::<u64>::new());
        assert_eq!(window.seqs_of(5 << 48), vec![5]);
        assert_eq!(window.drop_through(4), 0);
    }

    #[test]
    fn finds_keys_on_either_side_of_the_ring_buffers_wrap() {
        let mut window = KeyWindow::default();
        let key = |seq: u64| i64::try_from(seq).unwrap() << 48;
        let lanes = LANES as u64;
        let mut newest = 0;
        while newest < 3 * lanes {
            newest += 1;
            window.push_newest(newest, key(newest));
        }
        window.drop_through(2 * lanes);
        while window.tags.as_slices().1.len() < LANES {
            newest += 1;
            window.push_newest(newest, key(newest));
        }
        for seq in (2 * lanes + 1)..=newest {
            assert_eq!(window.seqs_of(key(seq)), vec![seq], "seq {seq}");
        }
        assert_eq!(window.seqs_of(key(1)), Vec::<u64>::new());
    }
}

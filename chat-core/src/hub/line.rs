//! Per-(user, room) ordering: messages reach a user's sockets in `seq` order, once each.
//!
//! Messages of one room can arrive out of order: two senders' appends finish in either order,
//! and relays from other nodes race local sends. A line holds a message that arrives ahead of
//! a missing one until the gap is filled (by the late message, or by the engine reading it
//! from the store) or given up on.
//!
//! A seq given up on is remembered for a while: if its message does arrive after all (its
//! sender's node was slow, not failed), it is delivered late, out of order, rather than
//! dropped as a duplicate, so a stored message is never kept from the room's sockets.
//!
//! A line starts just after the room's newest stored message as read when the user's socket
//! came (or at 1 for a room created since), never at whatever message happens to arrive
//! first: that one may have overtaken an earlier message still on its way.

use std::collections::{BTreeMap, VecDeque};
use std::ops::Range;

use crate::event::Delivery;

/// Holding more than this many messages behind one gap means the gap will not close by
/// itself; the line then releases what it holds rather than grow without bound.
const MAX_HELD: usize = 256;

/// How many skipped ranges a line remembers; older ones are forgotten first.
const MAX_SKIPPED: usize = 16;

/// What admitting one message into a line decided.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Deliver the admitted message alone: the common, allocation-free case.
    InOrder,
    /// Deliver these, in this order (the admitted message and any it unblocked).
    Ready(Vec<Delivery>),
    /// Held behind a gap that just opened: `missing` is the range of seqs not yet seen.
    HeldNewGap { missing: Range<u64> },
    /// Held behind a gap already reported.
    Held,
    /// A seq the line gave up on, arriving after all: deliver it alone, late.
    Late,
    /// Already delivered (a relay of a local message, or a refill): dropped.
    Duplicate,
}

/// The ordering state of one room for one user on this node.
#[derive(Debug)]
pub(crate) struct Line {
    /// The seq expected next.
    next: u64,
    held: BTreeMap<u64, Delivery>,
    /// Seqs given up on and not arrived since, oldest range first.
    skipped: VecDeque<Range<u64>>,
}

impl Default for Line {
    /// The line of a room with no message yet: it expects seq 1.
    fn default() -> Self {
        Line::after(0)
    }
}

impl Line {
    /// A line for a room whose messages up to `latest` came before the user's socket did.
    pub(crate) fn after(latest: u64) -> Self {
        Line {
            next: latest + 1,
            held: BTreeMap::new(),
            skipped: VecDeque::new(),
        }
    }

    pub(crate) fn admit(&mut self, seq: u64, delivery: &Delivery) -> Admission {
        if seq < self.next {
            return if self.take_skipped(seq) {
                Admission::Late
            } else {
                Admission::Duplicate
            };
        }
        if self.held.contains_key(&seq) {
            return Admission::Duplicate;
        }
        if seq > self.next {
            let new_gap = self.held.is_empty();
            self.held.insert(seq, delivery.clone());
            if self.held.len() > MAX_HELD {
                return Admission::Ready(self.release_all());
            }
            return if new_gap {
                Admission::HeldNewGap {
                    missing: self.next..seq,
                }
            } else {
                Admission::Held
            };
        }
        self.next += 1;
        if self.held.is_empty() {
            return Admission::InOrder;
        }
        let mut ready = vec![delivery.clone()];
        self.drain_contiguous(&mut ready);
        Admission::Ready(ready)
    }

    /// Gives up on every seq below `upto` that has not arrived and releases what follows.
    pub(crate) fn skip_to(&mut self, upto: u64) -> Vec<Delivery> {
        let mut ready = Vec::new();
        while self.next < upto {
            let first_held = self.held.keys().next().copied().filter(|&seq| seq < upto);
            let resume = first_held.unwrap_or(upto);
            self.remember_skipped(self.next..resume);
            self.next = resume;
            if let Some(seq) = first_held {
                ready.extend(self.held.remove(&seq));
                self.next = seq + 1;
            }
        }
        self.drain_contiguous(&mut ready);
        ready
    }

    /// The seq the line still waits for and the first one it holds, if it waits at all.
    pub(crate) fn open_gap(&self) -> Option<Range<u64>> {
        self.held
            .keys()
            .next()
            .map(|&first_held| self.next..first_held)
    }

    fn release_all(&mut self) -> Vec<Delivery> {
        let held = std::mem::take(&mut self.held);
        let mut expected = self.next;
        for &seq in held.keys() {
            self.remember_skipped(expected..seq);
            expected = seq + 1;
        }
        self.next = expected;
        held.into_values().collect()
    }

    fn remember_skipped(&mut self, range: Range<u64>) {
        if range.is_empty() {
            return;
        }
        if self.skipped.len() == MAX_SKIPPED {
            self.skipped.pop_front();
        }
        self.skipped.push_back(range);
    }

    /// True when `seq` was given up on and has not arrived since; it is forgotten then.
    fn take_skipped(&mut self, seq: u64) -> bool {
        let Some(index) = self.skipped.iter().position(|range| range.contains(&seq)) else {
            return false;
        };
        let range = self
            .skipped
            .remove(index)
            .expect("the index was just found");
        for rest in [range.start..seq, seq + 1..range.end] {
            if !rest.is_empty() {
                self.skipped.push_back(rest);
            }
        }
        true
    }

    fn drain_contiguous(&mut self, ready: &mut Vec<Delivery>) {
        while let Some(entry) = self.held.first_entry() {
            if *entry.key() != self.next {
                break;
            }
            ready.push(entry.remove());
            self.next += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Outbound, ServerEvent};
    use crate::id::UserId;

    fn delivery(seq: u64) -> Delivery {
        Outbound::new(ServerEvent::Presence {
            user_id: UserId::generate(),
            online: seq.is_multiple_of(2),
        })
    }

    fn count(admission: Admission) -> usize {
        match admission {
            Admission::InOrder | Admission::Late => 1,
            Admission::Ready(ready) => ready.len(),
            _ => 0,
        }
    }

    #[test]
    fn in_order_messages_pass_straight_through() {
        let mut line = Line::default();
        for seq in 1..=5 {
            assert_eq!(count(line.admit(seq, &delivery(seq))), 1);
        }
        assert_eq!(line.open_gap(), None);
    }

    #[test]
    fn a_late_message_releases_the_ones_held_behind_it() {
        let mut line = Line::default();
        line.admit(1, &delivery(1));
        assert!(matches!(
            line.admit(3, &delivery(3)),
            Admission::HeldNewGap { missing } if missing == (2..3)
        ));
        assert!(matches!(line.admit(4, &delivery(4)), Admission::Held));
        assert_eq!(line.open_gap(), Some(2..3));
        assert_eq!(count(line.admit(2, &delivery(2))), 3);
        assert!(matches!(line.admit(3, &delivery(3)), Admission::Duplicate));
    }

    #[test]
    fn skipping_gives_up_on_missing_seqs_only() {
        let mut line = Line::default();
        line.admit(1, &delivery(1));
        line.admit(4, &delivery(4));
        line.admit(5, &delivery(5));
        assert_eq!(line.skip_to(4).len(), 2);
        assert_eq!(count(line.admit(6, &delivery(6))), 1);
    }

    #[test]
    fn a_skipped_message_arriving_after_all_is_delivered_late_once() {
        let mut line = Line::default();
        line.admit(1, &delivery(1));
        line.admit(4, &delivery(4));
        assert_eq!(line.skip_to(4).len(), 1);
        assert!(matches!(line.admit(3, &delivery(3)), Admission::Late));
        assert!(matches!(line.admit(3, &delivery(3)), Admission::Duplicate));
        assert!(matches!(line.admit(2, &delivery(2)), Admission::Late));
        assert!(matches!(line.admit(1, &delivery(1)), Admission::Duplicate));
        assert!(matches!(line.admit(4, &delivery(4)), Admission::Duplicate));
    }

    #[test]
    fn skipping_past_held_messages_delivers_them_and_remembers_only_the_holes() {
        let mut line = Line::default();
        line.admit(3, &delivery(3));
        line.admit(5, &delivery(5));
        line.admit(8, &delivery(8));
        assert_eq!(line.skip_to(7).len(), 2);
        assert_eq!(line.open_gap(), Some(7..8));
        for seq in [1, 2, 4, 6] {
            assert!(matches!(line.admit(seq, &delivery(seq)), Admission::Late));
        }
        assert!(matches!(line.admit(5, &delivery(5)), Admission::Duplicate));
        assert_eq!(count(line.admit(7, &delivery(7))), 2);
    }

    #[test]
    fn seqs_passed_over_by_a_release_are_delivered_late_too() {
        let mut line = Line::default();
        line.admit(1, &delivery(1));
        for seq in 3..(3 + MAX_HELD as u64 + 1) {
            line.admit(seq, &delivery(seq));
        }
        assert!(matches!(line.admit(2, &delivery(2)), Admission::Late));
        assert!(matches!(line.admit(2, &delivery(2)), Admission::Duplicate));
    }

    #[test]
    fn duplicates_are_dropped() {
        let mut line = Line::after(6);
        line.admit(7, &delivery(7));
        assert!(matches!(line.admit(7, &delivery(7)), Admission::Duplicate));
        assert!(matches!(line.admit(2, &delivery(2)), Admission::Duplicate));
    }

    #[test]
    fn a_fresh_line_holds_a_message_that_overtook_its_first() {
        let mut line = Line::after(3);
        assert!(matches!(
            line.admit(5, &delivery(5)),
            Admission::HeldNewGap { missing } if missing == (4..5)
        ));
        assert_eq!(count(line.admit(4, &delivery(4))), 2);
    }

    #[test]
    fn an_endless_gap_is_released_rather_than_held_forever() {
        let mut line = Line::default();
        line.admit(1, &delivery(1));
        let mut released = 0;
        for seq in 3..(3 + MAX_HELD as u64 + 1) {
            released += count(line.admit(seq, &delivery(seq)));
        }
        assert_eq!(released, MAX_HELD + 1);
        assert_eq!(line.open_gap(), None);
    }
}

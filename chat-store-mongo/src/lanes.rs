//! Per-room lanes: inside one process, appends to the same room take turns, and the lane
//! remembers the room's head between turns.
//!
//! Correctness never depends on this module: the unique (room, seq) index is what keeps seqs
//! distinct across servers, and a head that another server has moved past only costs one
//! refused insert and a re-read. Lanes stop one server's concurrent appends from racing each
//! other for the same seq and retrying in a storm, and they spare an append to a room that was
//! written a moment ago the two reads that find the head (which on FerretDB, where only `_id`
//! lookups use an index, scan the whole history).

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chat_core::RoomId;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// How long a remembered head is trusted. Past it the append reads the head again, so a
/// history changed behind the store's back (restored from a backup, say) is noticed instead of
/// being continued from a seq it no longer has.
const HEAD_TTL: Duration = Duration::from_secs(5);

/// How many rooms' lanes to keep; past this, the idle ones are forgotten.
const MAX_LANES: usize = 4096;

/// What a lane remembers between turns: the last seq known to be taken in the room, and when.
#[derive(Default)]
pub(crate) struct Head {
    known: Option<(u64, Instant)>,
}

impl Head {
    /// The remembered head, unless it is too old to trust.
    pub(crate) fn get(&self) -> Option<u64> {
        self.known
            .filter(|(_, at)| at.elapsed() < HEAD_TTL)
            .map(|(seq, _)| seq)
    }

    /// Remembers `seq` as of now, or forgets the head when the outcome of a write is unknown.
    pub(crate) fn set(&mut self, seq: Option<u64>) {
        self.known = seq.map(|seq| (seq, Instant::now()));
    }
}

/// The lanes of recently written rooms.
#[derive(Default)]
pub(crate) struct Lanes {
    lanes: Mutex<HashMap<RoomId, Arc<AsyncMutex<Head>>>>,
}

/// The exclusive right to append to one room in this process, until dropped.
pub(crate) struct Turn {
    guard: OwnedMutexGuard<Head>,
}

impl Lanes {
    /// Waits for this process's earlier appends to `room` to finish, in arrival order.
    pub(crate) async fn enter(&self, room: RoomId) -> Turn {
        let lane = {
            let mut lanes = self.lanes.lock().unwrap_or_else(PoisonError::into_inner);
            if lanes.len() >= MAX_LANES && !lanes.contains_key(&room) {
                // Only the map holds an idle lane; dropping it loses nothing but a head.
                lanes.retain(|_, lane| Arc::strong_count(lane) > 1);
            }
            lanes.entry(room).or_default().clone()
        };
        Turn {
            guard: lane.lock_owned().await,
        }
    }
}

impl Deref for Turn {
    type Target = Head;

    fn deref(&self) -> &Head {
        &self.guard
    }
}

impl DerefMut for Turn {
    fn deref_mut(&mut self) -> &mut Head {
        &mut self.guard
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lane_passes_its_head_to_the_next_turn() {
        let lanes = Lanes::default();
        let room = RoomId::generate();
        let mut first = lanes.enter(room).await;
        first.set(Some(7));
        let waiting = async { lanes.enter(room).await.get() };
        let (head, ()) = tokio::join!(waiting, async move { drop(first) });
        assert_eq!(head, Some(7));
        assert_eq!(lanes.enter(RoomId::generate()).await.get(), None);
    }

    #[tokio::test]
    async fn idle_lanes_are_forgotten_past_the_bound() {
        let lanes = Lanes::default();
        let busy = RoomId::generate();
        let mut held = lanes.enter(busy).await;
        held.set(Some(3));
        for _ in 0..MAX_LANES {
            lanes.enter(RoomId::generate()).await.set(Some(1));
        }
        assert!(lanes.lanes.lock().unwrap().len() <= MAX_LANES);
        assert!(lanes.lanes.lock().unwrap().contains_key(&busy));
        drop(held);
    }

    #[test]
    fn an_old_head_is_not_trusted() {
        let mut head = Head::default();
        head.set(Some(5));
        assert_eq!(head.get(), Some(5));
        head.known = Some((5, Instant::now() - HEAD_TTL));
        assert_eq!(head.get(), None);
        head.set(None);
        assert_eq!(head.get(), None);
    }
}

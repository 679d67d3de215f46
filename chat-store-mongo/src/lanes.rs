//! Per-room lanes: inside one process, appends to the same room take turns.
//!
//! Correctness never depends on this module: the unique (room, seq) index is what keeps seqs
//! distinct across servers. Lanes only stop one server's concurrent appends from racing each
//! other for the same seq and retrying in a storm; and the lane remembers the last seq it
//! wrote, so under load an append skips the read of the room's head. A lane exists only while
//! someone holds or awaits it, so the map stays as small as the set of busy rooms.

use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};

use chat_core::RoomId;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// What a lane remembers between turns: the last seq known to be taken in the room, if any.
type Head = Option<u64>;

/// The lanes of the rooms that are being appended to right now.
#[derive(Default)]
pub(crate) struct Lanes {
    busy: Mutex<HashMap<RoomId, Arc<AsyncMutex<Head>>>>,
}

/// The exclusive right to append to one room in this process, until dropped.
pub(crate) struct Turn<'a> {
    lanes: &'a Lanes,
    room: RoomId,
    guard: Option<OwnedMutexGuard<Head>>,
}

impl Lanes {
    /// Waits for this process's earlier appends to `room` to finish, in arrival order.
    pub(crate) async fn enter(&self, room: RoomId) -> Turn<'_> {
        let lane = self
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(room)
            .or_default()
            .clone();
        Turn {
            lanes: self,
            room,
            guard: Some(lane.lock_owned().await),
        }
    }
}

impl Deref for Turn<'_> {
    type Target = Head;

    fn deref(&self) -> &Head {
        self.guard
            .as_deref()
            .expect("a turn holds its guard until dropped")
    }
}

impl DerefMut for Turn<'_> {
    fn deref_mut(&mut self) -> &mut Head {
        self.guard
            .as_deref_mut()
            .expect("a turn holds its guard until dropped")
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut busy = self
            .lanes
            .busy
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // Only the map still holds the lane: nobody waits for it, so forget it (and its head,
        // which another server may have made stale by the next time the room is busy).
        if busy
            .get(&self.room)
            .is_some_and(|lane| Arc::strong_count(lane) == 1)
        {
            busy.remove(&self.room);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lane_remembers_its_head_while_busy_and_is_forgotten_when_idle() {
        let lanes = Lanes::default();
        let room = RoomId::generate();
        let mut first = lanes.enter(room).await;
        *first = Some(7);
        let waiting = {
            let lanes = &lanes;
            async move { *lanes.enter(room).await }
        };
        let (head, ()) = tokio::join!(waiting, async move { drop(first) });
        assert_eq!(head, Some(7));
        assert!(lanes.busy.lock().unwrap().is_empty());
        assert_eq!(*lanes.enter(room).await, None);
    }
}

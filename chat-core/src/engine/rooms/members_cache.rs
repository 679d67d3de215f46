//! The member lists of rooms, kept for the membership check of every read and write.
//!
//! Direct rooms never change members; a group's entry is dropped when its members change,
//! here or (through the notices topic) on any node, and everything is dropped after a bus
//! outage, when such notices may have been missed.
//!
//! A room missing from the cache is read from the store once, however many sends ask for it
//! meanwhile: they all wait for that one read. Without that, a cold cache under load (a
//! restart, a burst into many rooms) sends one read per message to the store, the reads queue
//! behind each other, and every send waits seconds before it even reaches admission.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::error::Result;
use crate::id::{RoomId, UserId};

/// Rooms whose member lists the cache keeps; past it the cache starts over.
const MEMBERS_CACHE_ROOMS: usize = 100_000;

/// One room's list, filled by the first lookup that misses and shared by every lookup that
/// comes while it is read.
type Slot = Arc<OnceCell<Arc<[UserId]>>>;

/// Member lists by room, sorted by user id.
#[derive(Default)]
pub(in crate::engine) struct MembersCache {
    rooms: Mutex<HashMap<RoomId, Slot>>,
}

impl MembersCache {
    /// `room`'s members, from the cache or else from `read` (run once for all the lookups
    /// waiting on it). A list read while the room was forgotten serves only the lookups that
    /// were already waiting; later ones read again.
    pub(in crate::engine) async fn get_or_read<F, Fut>(
        &self,
        room: RoomId,
        read: F,
    ) -> Result<Arc<[UserId]>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Arc<[UserId]>>>,
    {
        let slot = match self.lookup(room) {
            Ok(members) => return Ok(members),
            Err(slot) => slot,
        };
        match slot.get_or_try_init(read).await {
            Ok(members) => Ok(members.clone()),
            Err(err) => {
                self.discard_empty(room, &slot);
                Err(err)
            }
        }
    }

    /// Drops `room`'s list, or every list.
    pub(in crate::engine) fn forget(&self, room: Option<RoomId>) {
        let mut rooms = self.lock();
        match room {
            Some(room) => {
                rooms.remove(&room);
            }
            None => rooms.clear(),
        }
    }

    /// The cached list, or the slot to fill (made if the room has none).
    fn lookup(&self, room: RoomId) -> std::result::Result<Arc<[UserId]>, Slot> {
        let mut rooms = self.lock();
        if let Some(slot) = rooms.get(&room) {
            return slot.get().cloned().ok_or_else(|| Arc::clone(slot));
        }
        if rooms.len() >= MEMBERS_CACHE_ROOMS {
            rooms.clear();
        }
        Err(Arc::clone(rooms.entry(room).or_default()))
    }

    /// Removes `slot` if it is still `room`'s and still empty (its read failed), so unknown
    /// rooms leave nothing behind.
    fn discard_empty(&self, room: RoomId, slot: &Slot) {
        let mut rooms = self.lock();
        if rooms
            .get(&room)
            .is_some_and(|current| Arc::ptr_eq(current, slot) && !current.initialized())
        {
            rooms.remove(&room);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, Slot>> {
        crate::sync::lock(&self.rooms)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::error::Error;

    fn members() -> Arc<[UserId]> {
        vec![UserId::generate(), UserId::generate()].into()
    }

    #[tokio::test]
    async fn lookups_waiting_on_a_cold_room_share_one_read() {
        let cache = MembersCache::default();
        let room = RoomId::generate();
        let reads = AtomicUsize::new(0);
        let list = members();
        let read = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(list.clone())
        };
        let lookups =
            futures_util::future::join_all((0..50).map(|_| cache.get_or_read(room, read)));
        for found in lookups.await {
            assert_eq!(found.unwrap(), list);
        }
        assert_eq!(reads.load(Ordering::SeqCst), 1);
        assert_eq!(cache.get_or_read(room, read).await.unwrap(), list);
        assert_eq!(reads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_read_is_not_cached_and_a_forgotten_room_is_read_again() {
        let cache = MembersCache::default();
        let room = RoomId::generate();
        let missing = cache
            .get_or_read(room, || async {
                Err(Error::NotFound("room not found".into()))
            })
            .await;
        assert!(matches!(missing, Err(Error::NotFound(_))));
        assert!(cache.lock().is_empty(), "a failed read leaves no slot");

        let (first, second) = (members(), members());
        cache
            .get_or_read(room, || async { Ok(first.clone()) })
            .await
            .unwrap();
        cache.forget(Some(room));
        let reread = cache
            .get_or_read(room, || async { Ok(second.clone()) })
            .await;
        assert_eq!(reread.unwrap(), second);
    }
}

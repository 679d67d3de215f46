//! The local fanout hub: which sockets each user has on this node, and delivery to them.
//!
//! Sharded by user so that concurrent fanouts rarely contend. Delivery never waits: each
//! socket has a bounded queue, and a socket whose queue is full is cut off (its loop closes
//! it with 1013) instead of slowing the room. Message events pass through a per-(user, room)
//! [`line`] so every user sees a room in `seq` order, once each.

mod line;
mod subscription;

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;

use crate::event::{Delivery, Membership};
use crate::id::{ConnId, RoomId, UserId};
use line::{Admission, Line};
use subscription::Control;
pub use subscription::{Next, Subscription};

/// How many shards the user map is split into; a power of two comfortably above core counts.
const SHARDS: usize = 64;

/// A gap a delivery opened: `user` waits in `room` for the seqs in `missing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// The user whose line waits.
    pub user: UserId,
    /// The room.
    pub room: RoomId,
    /// The seqs not seen yet.
    pub missing: Range<u64>,
}

/// What one fanout did, for metrics and for the engine to fill gaps.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FanoutReport {
    /// Events queued on sockets.
    pub queued: usize,
    /// Sockets cut off because their queue was full.
    pub overflowed: usize,
    /// Gaps newly opened; the engine fills them from the store.
    pub gaps: Vec<Gap>,
}

struct Slot {
    conn: ConnId,
    tx: mpsc::Sender<Delivery>,
    control: Arc<Control>,
}

#[derive(Default)]
struct UserEntry {
    slots: Vec<Slot>,
    lines: HashMap<RoomId, Line>,
}

type Shard = HashMap<UserId, UserEntry>;

/// This node's sockets, by user.
pub struct Hub {
    shards: Box<[Mutex<Shard>]>,
    hasher: std::collections::hash_map::RandomState,
    queue_capacity: usize,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("queue_capacity", &self.queue_capacity)
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub whose sockets each queue at most `queue_capacity` events.
    pub fn new(queue_capacity: usize) -> Self {
        Hub {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: Default::default(),
            queue_capacity: queue_capacity.max(1),
        }
    }

    fn shard(&self, user: UserId) -> MutexGuard<'_, Shard> {
        let index = self.hasher.hash_one(user) as usize % SHARDS;
        crate::sync::lock(&self.shards[index])
    }

    /// Adds socket `conn` for `user`. The flag is true when it is the user's first here.
    ///
    /// `latest` gives, for the user's rooms, the seq of the newest message stored before this
    /// call (read by the caller just before). When this is the user's first socket here, their
    /// lines start right after those seqs, and at 1 in rooms not listed (created since): a
    /// message that overtakes an earlier one is then held for it, never taken as the start.
    /// A user who already has sockets here keeps the lines they have.
    pub fn register(
        &self,
        user: UserId,
        conn: ConnId,
        latest: impl IntoIterator<Item = (RoomId, u64)>,
    ) -> (Subscription, bool) {
        let (tx, rx) = mpsc::channel(self.queue_capacity);
        let control = Arc::new(Control::default());
        let mut shard = self.shard(user);
        let entry = shard.entry(user).or_default();
        let first = entry.slots.is_empty();
        if first {
            entry.lines = latest
                .into_iter()
                .filter(|&(_, seq)| seq > 0)
                .map(|(room, seq)| (room, Line::after(seq)))
                .collect();
        }
        entry.slots.push(Slot {
            conn,
            tx,
            control: control.clone(),
        });
        let subscription = Subscription {
            user,
            conn,
            rx,
            control,
        };
        (subscription, first)
    }

    /// Removes a socket. True when it was the user's last on this node.
    pub fn unregister(&self, user: UserId, conn: ConnId) -> bool {
        let mut shard = self.shard(user);
        let Some(entry) = shard.get_mut(&user) else {
            return false;
        };
        let before = entry.slots.len();
        entry.slots.retain(|slot| slot.conn != conn);
        let removed = entry.slots.len() < before;
        if entry.slots.is_empty() {
            shard.remove(&user);
            return removed;
        }
        false
    }

    /// How many sockets `user` has on this node.
    pub fn sockets_of(&self, user: UserId) -> usize {
        self.shard(user)
            .get(&user)
            .map_or(0, |entry| entry.slots.len())
    }

    /// Every user with at least one socket on this node.
    pub fn local_users(&self) -> Vec<UserId> {
        let mut users = Vec::new();
        for shard in self.shards.iter() {
            let shard = crate::sync::lock(shard);
            users.extend(shard.keys().copied());
        }
        users
    }

    /// Every socket on this node, for presence heartbeats.
    pub fn sockets(&self) -> Vec<(UserId, ConnId)> {
        let mut sockets = Vec::new();
        for shard in self.shards.iter() {
            let shard = crate::sync::lock(shard);
            for (user, entry) in shard.iter() {
                sockets.extend(entry.slots.iter().map(|slot| (*user, slot.conn)));
            }
        }
        sockets
    }

    /// Queues `delivery` on every socket of every recipient that has one here.
    ///
    /// Message events are ordered per (user, room); a message ahead of a missing one is held
    /// and reported as a [`Gap`]. Other events go straight out. A user's line of a room it
    /// is added to starts at the entry adding it (not at the room's first seq), and its line
    /// ends with the entry removing it, so a later re-add starts afresh.
    pub fn deliver(&self, recipients: &[UserId], delivery: &Delivery) -> FanoutReport {
        let mut report = FanoutReport::default();
        let room_seq = delivery.event().room_seq();
        let membership = delivery.event().membership();
        for &user in recipients {
            let mut shard = self.shard(user);
            let Some(entry) = shard.get_mut(&user) else {
                continue;
            };
            match room_seq {
                None => push_all(entry, std::slice::from_ref(delivery), &mut report),
                Some((room, seq)) => {
                    let line = entry.lines.entry(room).or_insert_with(|| {
                        if membership == Some(Membership::Joined(user)) {
                            Line::after(seq - 1)
                        } else {
                            Line::default()
                        }
                    });
                    match line.admit(seq, delivery) {
                        Admission::InOrder => {
                            push_all(entry, std::slice::from_ref(delivery), &mut report);
                            if membership == Some(Membership::Gone(user)) {
                                entry.lines.remove(&room);
                            }
                        }
                        Admission::Ready(ready) => push_all(entry, &ready, &mut report),
                        Admission::HeldNewGap { missing } => {
                            report.gaps.push(Gap {
                                user,
                                room,
                                missing,
                            });
                        }
                        Admission::Held | Admission::Duplicate => {}
                    }
                }
            }
            if entry.slots.is_empty() {
                shard.remove(&user);
            }
        }
        report
    }

    /// Queues `delivery` on `user`'s sockets outside any ordering, e.g. the repeated
    /// acknowledgement of an idempotent resend, which the line has already passed.
    pub fn deliver_unordered(&self, user: UserId, delivery: &Delivery) -> FanoutReport {
        let mut report = FanoutReport::default();
        let mut shard = self.shard(user);
        if let Some(entry) = shard.get_mut(&user) {
            push_all(entry, std::slice::from_ref(delivery), &mut report);
        }
        report
    }

    /// The part of `gap` still open, if the user is still here and still waits for it.
    pub fn still_missing(&self, gap: &Gap) -> Option<Range<u64>> {
        let shard = self.shard(gap.user);
        let line = shard.get(&gap.user)?.lines.get(&gap.room)?;
        line.open_gap()
    }

    /// Gives up waiting in `user`'s line for `room` for everything below `upto`, releasing
    /// what was held behind it; used once the store has supplied what it has.
    pub fn skip_gap(&self, user: UserId, room: RoomId, upto: u64) -> FanoutReport {
        let mut report = FanoutReport::default();
        let mut shard = self.shard(user);
        if let Some(entry) = shard.get_mut(&user) {
            let ready = entry
                .lines
                .get_mut(&room)
                .map(|line| line.skip_to(upto))
                .unwrap_or_default();
            push_all(entry, &ready, &mut report);
        }
        report
    }

    /// Tells socket `conn` of `user` to close because its session was revoked; its loop sees
    /// [`Next::Revoked`]. Nothing happens for a socket that is gone.
    pub fn revoke(&self, user: UserId, conn: ConnId) {
        let shard = self.shard(user);
        if let Some(slot) = shard
            .get(&user)
            .and_then(|entry| entry.slots.iter().find(|slot| slot.conn == conn))
        {
            slot.control.revoke();
        }
    }

    /// Drops every socket, e.g. at shutdown; their loops see [`Next::Closed`].
    pub fn close_all(&self) {
        for shard in self.shards.iter() {
            crate::sync::lock(shard).clear();
        }
    }
}

fn push_all(entry: &mut UserEntry, deliveries: &[Delivery], report: &mut FanoutReport) {
    entry.slots.retain(|slot| {
        for delivery in deliveries {
            match slot.tx.try_send(delivery.clone()) {
                Ok(()) => report.queued += 1,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    slot.control.overflow();
                    report.overflowed += 1;
                    return false;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
            }
        }
        true
    });
}

#[cfg(test)]
mod tests;

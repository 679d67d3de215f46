//! The local fanout hub: the sockets on this node, the rooms they follow, and delivery.
//!
//! Rooms are the unit of fanout. Each room this node follows holds its subscribed sockets and
//! one ordering [`line`], so an event to a room of N local sockets is one lock and one walk
//! over N queue handles, and every socket sees the room in `seq` order, once each. Delivery
//! never waits: each socket has a bounded queue, and a socket whose queue is full is cut off
//! (its loop closes it with 1013) instead of slowing the room.
//!
//! Sockets join a room when they connect (the user's rooms), when their user joins it
//! ([`Hub::join`]), and leave it with the entry that ends their user's membership. The hub
//! tells the engine, in order, which bus topics it needs ([`Interest`]): a room's topic while
//! some local socket follows the room, a user's while the user has a socket here.
//!
//! Locks are taken in one order: a user shard, then a room shard, then a room.

mod line;
mod room;
mod subscription;

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hash};
use std::ops::Range;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, oneshot};

use crate::bus::Topic;
use crate::event::Delivery;
use crate::id::{ConnId, RoomId, UserId};
use crate::sync::lock;
use room::RoomState;
use subscription::{Inbox, Socket};
pub use subscription::{Next, Subscription};

/// How many shards the user and room maps are split into; a power of two comfortably above
/// core counts.
const SHARDS: usize = 64;

/// A gap a delivery opened: the room's line waits for the seqs in `missing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
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

/// What the hub needs from the bus, in the order its state changed; the engine applies
/// these to the bus one after another.
#[derive(Debug)]
pub enum Interest {
    /// A first local socket follows this room, or a user has a first socket here.
    Watch(Topic),
    /// No local socket needs this topic any longer.
    Unwatch(Topic),
    /// Not sent by the hub: a marker the engine queues behind the hub's changes to learn
    /// when everything before it has been applied.
    Barrier(oneshot::Sender<()>),
}

#[derive(Default)]
struct UserSockets {
    sockets: Vec<Socket>,
    /// Rooms these sockets were subscribed to; a room left since may linger here, which
    /// costs nothing but a no-op at unregister.
    rooms: HashSet<RoomId>,
}

struct RoomCell {
    state: Mutex<RoomState>,
}

type UserShard = HashMap<UserId, UserSockets>;
type RoomShard = HashMap<RoomId, Arc<RoomCell>>;

/// This node's sockets and the rooms they follow.
pub struct Hub {
    users: Box<[Mutex<UserShard>]>,
    rooms: Box<[Mutex<RoomShard>]>,
    hasher: std::collections::hash_map::RandomState,
    queue_capacity: usize,
    interest: Option<mpsc::UnboundedSender<Interest>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("queue_capacity", &self.queue_capacity)
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// A hub of one node with no bus, whose sockets each queue at most `queue_capacity` events.
    pub fn new(queue_capacity: usize) -> Self {
        Hub {
            users: (0..SHARDS).map(|_| Mutex::default()).collect(),
            rooms: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hasher: Default::default(),
            queue_capacity: queue_capacity.max(1),
            interest: None,
        }
    }

    /// A hub that reports the topics it needs on `interest`.
    pub fn with_interest(queue_capacity: usize, interest: mpsc::UnboundedSender<Interest>) -> Self {
        Hub {
            interest: Some(interest),
            ..Hub::new(queue_capacity)
        }
    }

    fn shard_of<K: Hash>(&self, key: K) -> usize {
        self.hasher.hash_one(key) as usize % SHARDS
    }

    fn user_shard(&self, user: UserId) -> MutexGuard<'_, UserShard> {
        lock(&self.users[self.shard_of(user)])
    }

    fn room_shard(&self, room: RoomId) -> MutexGuard<'_, RoomShard> {
        lock(&self.rooms[self.shard_of(room)])
    }

    fn tell(&self, interest: Interest) {
        if let Some(sender) = &self.interest {
            let _engine_gone = sender.send(interest);
        }
    }

    /// Adds socket `conn` for `user`, following `rooms`: each room with the seq of its newest
    /// message stored before this call (read by the caller just before). The socket receives
    /// each room's messages after that seq; a room this node did not follow yet starts its
    /// line there, so a message that overtakes an earlier one is held for it, never taken as
    /// the start. Also returns those newly followed rooms: what other nodes published in them
    /// before the bus watched them here is only found by reading them once more.
    pub fn register(
        &self,
        user: UserId,
        conn: ConnId,
        rooms: impl IntoIterator<Item = (RoomId, u64)>,
    ) -> (Subscription, Vec<RoomId>) {
        let inbox = Arc::new(Inbox::new(self.queue_capacity));
        let socket = Socket {
            user,
            conn,
            inbox: inbox.clone(),
        };
        let mut users = self.user_shard(user);
        let entry = users.entry(user).or_default();
        if entry.sockets.is_empty() {
            self.tell(Interest::Watch(Topic::User(user)));
        }
        entry.sockets.push(socket.clone());
        let mut replayed = FanoutReport::default();
        let mut opened = Vec::new();
        for (room, latest) in rooms {
            entry.rooms.insert(room);
            if self.subscribe(room, latest, &socket, latest + 1, &mut replayed) {
                opened.push(room);
            }
        }
        let subscription = Subscription { user, conn, inbox };
        (subscription, opened)
    }

    /// Subscribes the sockets `user` has here to `room` from seq `from` on: the entry that
    /// made it a member. True when this node did not follow the room before, so the caller
    /// looks for what the room had beyond `from` already.
    pub fn join(&self, room: RoomId, user: UserId, from: u64) -> bool {
        let mut users = self.user_shard(user);
        let Some(entry) = users.get_mut(&user) else {
            return false;
        };
        entry.rooms.insert(room);
        let mut replayed = FanoutReport::default();
        let mut opened = false;
        for socket in &entry.sockets {
            opened |= self.subscribe(room, from.saturating_sub(1), socket, from, &mut replayed);
        }
        opened
    }

    /// Subscribes `socket` to `room`, following the room from `latest` if it is new here.
    /// True when it is.
    fn subscribe(
        &self,
        room: RoomId,
        latest: u64,
        socket: &Socket,
        from: u64,
        report: &mut FanoutReport,
    ) -> bool {
        let mut rooms = self.room_shard(room);
        let mut opened = false;
        let cell = rooms.entry(room).or_insert_with(|| {
            opened = true;
            Arc::new(RoomCell {
                state: Mutex::new(RoomState::after(room, latest)),
            })
        });
        lock(&cell.state).subscribe(socket, from, report);
        if opened {
            self.tell(Interest::Watch(Topic::Room(room)));
        }
        opened
    }

    /// Removes a socket. True when it was the user's last on this node.
    pub fn unregister(&self, user: UserId, conn: ConnId) -> bool {
        let mut users = self.user_shard(user);
        let Some(entry) = users.get_mut(&user) else {
            return false;
        };
        let before = entry.sockets.len();
        entry.sockets.retain(|socket| socket.conn != conn);
        if entry.sockets.len() == before {
            return false;
        }
        for &room in &entry.rooms {
            let mut rooms = self.room_shard(room);
            if let Some(cell) = rooms.get(&room) {
                let mut state = lock(&cell.state);
                state.unsubscribe(conn);
                if state.is_empty() {
                    state.closed = true;
                    drop(state);
                    rooms.remove(&room);
                    self.tell(Interest::Unwatch(Topic::Room(room)));
                }
            }
        }
        if entry.sockets.is_empty() {
            users.remove(&user);
            self.tell(Interest::Unwatch(Topic::User(user)));
            return true;
        }
        false
    }

    /// Stops following `room` if no socket here follows it any more.
    fn release_if_empty(&self, room: RoomId) {
        let mut rooms = self.room_shard(room);
        let Some(cell) = rooms.get(&room) else { return };
        let mut state = lock(&cell.state);
        if state.is_empty() {
            state.closed = true;
            drop(state);
            rooms.remove(&room);
            self.tell(Interest::Unwatch(Topic::Room(room)));
        }
    }

    /// Runs `f` on `room`'s state if this node follows the room.
    fn with_room(&self, room: RoomId, f: impl FnOnce(&mut RoomState)) {
        let mut f = Some(f);
        loop {
            let Some(cell) = self.room_shard(room).get(&room).cloned() else {
                return;
            };
            let mut state = lock(&cell.state);
            if state.closed {
                continue;
            }
            if let Some(f) = f.take() {
                f(&mut state);
            }
            let empty = state.is_empty();
            drop(state);
            if empty {
                self.release_if_empty(room);
            }
            return;
        }
    }

    /// Queues `delivery`, an event of `room`, on every local socket following the room.
    ///
    /// Timeline events pass the room's line: one ahead of a missing one is held and reported
    /// as a [`Gap`], duplicates are dropped, and the entry ending a user's membership is the
    /// last its sockets get. Other events go straight out.
    pub fn deliver_room(&self, room: RoomId, delivery: &Delivery) -> FanoutReport {
        let mut report = FanoutReport::default();
        self.with_room(room, |state| state.deliver(delivery, &mut report));
        report
    }

    /// Queues `delivery` on every local socket of `users`, outside any room's order: presence,
    /// or the repeated acknowledgement of an idempotent resend, which the line already passed.
    pub fn deliver_users(&self, users: &[UserId], delivery: &Delivery) -> FanoutReport {
        let mut report = FanoutReport::default();
        for &user in users {
            if let Some(entry) = self.user_shard(user).get(&user) {
                for socket in &entry.sockets {
                    room::push(socket, delivery, &mut report);
                }
            }
        }
        report
    }

    /// What is still missing of the gap `reported` in `room`'s line, if this node still
    /// follows the room and waits for it. A line waits for one gap at a time, in seq order, so
    /// the gap it waits for now is (part of) this one or a later one, which its own report
    /// covers.
    pub fn still_missing(&self, room: RoomId, reported: &Range<u64>) -> Option<Range<u64>> {
        let mut open = None;
        self.with_room(room, |state| open = state.open_gap());
        let open = open?;
        (open.start < reported.end).then(|| open.start..open.end.min(reported.end))
    }

    /// Gives up waiting in `room`'s line for everything below `upto`, releasing what was held
    /// behind it; used once the store has supplied what it has.
    pub fn skip_gap(&self, room: RoomId, upto: u64) -> FanoutReport {
        let mut report = FanoutReport::default();
        self.with_room(room, |state| state.skip_to(upto, &mut report));
        report
    }

    /// Every room some local socket follows.
    pub fn rooms(&self) -> Vec<RoomId> {
        let mut rooms = Vec::new();
        for shard in self.rooms.iter() {
            rooms.extend(lock(shard).keys().copied());
        }
        rooms
    }

    /// How many sockets `user` has on this node.
    pub fn sockets_of(&self, user: UserId) -> usize {
        self.user_shard(user)
            .get(&user)
            .map_or(0, |entry| entry.sockets.len())
    }

    /// Every user with at least one socket on this node.
    pub fn local_users(&self) -> Vec<UserId> {
        let mut users = Vec::new();
        for shard in self.users.iter() {
            users.extend(lock(shard).keys().copied());
        }
        users
    }

    /// Every socket on this node, for presence heartbeats.
    pub fn sockets(&self) -> Vec<(UserId, ConnId)> {
        let mut sockets = Vec::new();
        for shard in self.users.iter() {
            for (user, entry) in lock(shard).iter() {
                sockets.extend(entry.sockets.iter().map(|socket| (*user, socket.conn)));
            }
        }
        sockets
    }

    /// Tells socket `conn` of `user` to close because its session was revoked; its loop sees
    /// [`Next::Revoked`]. Nothing happens for a socket that is gone.
    pub fn revoke(&self, user: UserId, conn: ConnId) {
        let users = self.user_shard(user);
        if let Some(socket) = users
            .get(&user)
            .and_then(|entry| entry.sockets.iter().find(|socket| socket.conn == conn))
        {
            socket.inbox.revoke();
        }
    }

    /// Drops every socket, e.g. at shutdown; their loops see [`Next::Closed`].
    pub fn close_all(&self) {
        for shard in self.users.iter() {
            for (_, entry) in lock(shard).drain() {
                entry.sockets.iter().for_each(|socket| socket.inbox.close());
            }
        }
        for shard in self.rooms.iter() {
            for cell in lock(shard).drain().map(|(_, cell)| cell) {
                lock(&cell.state).closed = true;
            }
        }
    }
}

#[cfg(test)]
mod tests;

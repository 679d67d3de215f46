//! Opening rooms, listing a user's rooms, and the membership checks every read and write makes;
//! group rooms in [`groups`].

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::id::{RoomId, UserId};
use crate::model::{Room, RoomKind, User, now};

use super::Engine;

mod groups;
mod members_cache;

pub(super) use members_cache::MembersCache;

/// The most rooms a room list returns.
const ROOM_LIST_LIMIT: usize = 500;

/// A room with its members' accounts, as room lists show it.
#[derive(Debug, Clone)]
pub struct RoomSummary {
    /// The room, with its last message.
    pub room: Room,
    /// The members' accounts, in the room's member order.
    pub members: Vec<User>,
    /// Whether each member is online, in the same order.
    pub online: Vec<bool>,
    /// How far the user the summary was made for has read.
    pub read_seq: u64,
    /// Entries above that position: the room's newest seq minus `read_seq`.
    pub unread: u64,
    /// A direct room's other member's read position (for "read" ticks); `None` for groups.
    pub other_read_seq: Option<u64>,
}

impl Engine {
    /// The direct room between `caller` and `other`, opened on first use; both sides get the
    /// same room whoever asks first.
    pub async fn open_direct(&self, caller: UserId, other: UserId) -> Result<RoomSummary> {
        if caller == other {
            return Err(Error::Invalid("cannot open a room with yourself".into()));
        }
        self.user(other).await?;
        let room = self.inner.store.direct_room(caller, other, now()).await?;
        let next_seq = room.last_message.as_ref().map_or(0, |last| last.seq) + 1;
        self.members_changed(room.id, room.members.clone(), next_seq);
        let mut summaries = self.summarize(caller, vec![room]).await?;
        summaries
            .pop()
            .ok_or_else(|| Error::NotFound("room not found".into()))
    }

    /// The caller's rooms, most recent activity first.
    pub async fn rooms(&self, caller: UserId) -> Result<Vec<RoomSummary>> {
        let rooms = self.inner.store.rooms_of(caller, ROOM_LIST_LIMIT).await?;
        self.summarize(caller, rooms).await
    }

    /// The members of `room` (sorted by id) if `user` is one of them: the check behind every
    /// read and write. Unknown rooms are `NotFound`; rooms of others are `Forbidden`.
    ///
    /// Served from the members cache, so a send costs no store read for it; a membership
    /// change drops the room's entry on this node at once and on other nodes when they hear
    /// the change on the notices topic, before the room's next message reaches them.
    pub async fn members_for(&self, user: UserId, room: RoomId) -> Result<Arc<[UserId]>> {
        let members = self
            .inner
            .members
            .get_or_read(room, || self.read_members(room))
            .await?;
        if members.binary_search(&user).is_err() {
            return Err(Error::Forbidden("not a member of this room".into()));
        }
        Ok(members)
    }

    /// `room`'s members from the store, sorted by id.
    async fn read_members(&self, room: RoomId) -> Result<Arc<[UserId]>> {
        let found = self
            .inner
            .store
            .room(room)
            .await?
            .ok_or_else(|| Error::NotFound("room not found".into()))?;
        let mut members: Vec<UserId> = if found.kind == RoomKind::Group {
            self.group_member_ids(room).await?.to_vec()
        } else {
            found.members
        };
        members.sort_unstable();
        Ok(members.into())
    }

    /// Drops `room`'s cached members after they changed.
    pub(super) fn forget_members(&self, room: RoomId) {
        self.inner.members.forget(Some(room));
    }

    /// Drops every cached member list, after notices of changes may have been missed.
    pub(super) fn forget_all_members(&self) {
        self.inner.members.forget(None);
    }

    /// Rooms with their members' accounts and presence, and `caller`'s read state: one read
    /// position per room (two for a direct room), whatever the history's length.
    async fn summarize(&self, caller: UserId, rooms: Vec<Room>) -> Result<Vec<RoomSummary>> {
        let mut ids: Vec<UserId> = rooms
            .iter()
            .flat_map(|room| room.members.iter().copied())
            .collect();
        ids.sort();
        ids.dedup();
        let users: HashMap<UserId, User> = self
            .inner
            .store
            .users(&ids)
            .await?
            .into_iter()
            .map(|user| (user.id, user))
            .collect();
        let online: HashMap<UserId, bool> =
            ids.iter().copied().zip(self.online(&ids).await).collect();
        let keys: Vec<(RoomId, UserId)> = rooms
            .iter()
            .flat_map(|room| {
                let other = room
                    .members
                    .iter()
                    .copied()
                    .find(|&member| member != caller);
                std::iter::once((room.id, caller)).chain(other.map(|other| (room.id, other)))
            })
            .collect();
        let positions: HashMap<(RoomId, UserId), u64> = keys
            .iter()
            .copied()
            .zip(self.inner.store.read_positions(&keys).await?)
            .collect();
        Ok(rooms
            .into_iter()
            .map(|room| {
                let head = room.last_message.as_ref().map_or(0, |last| last.seq);
                let read_seq = positions.get(&(room.id, caller)).copied().unwrap_or(0);
                let other_read_seq = room
                    .members
                    .iter()
                    .find(|&&member| member != caller)
                    .map(|&other| positions.get(&(room.id, other)).copied().unwrap_or(0));
                let members: Vec<User> = room
                    .members
                    .iter()
                    .filter_map(|id| users.get(id).cloned())
                    .collect();
                let online = members
                    .iter()
                    .map(|user| online.get(&user.id).copied().unwrap_or(false))
                    .collect();
                RoomSummary {
                    room,
                    members,
                    online,
                    read_seq,
                    unread: head.saturating_sub(read_seq),
                    other_read_seq,
                }
            })
            .collect())
    }
}

//! Group rooms: creating them and changing their members, names and roles under the role
//! rules. Each change fans the timeline entries the store recorded out to the members (and a
//! removed member, once) and returns them.
//!
//! Once the store has made a change, announcing it (other nodes' member caches, the room's
//! sockets, the host's hooks) runs on a task of its own, so a request cancelled in between
//! cannot leave a removed member able to write through another node's stale cache.
//!
//! The rules: the creator is the owner; owners and admins add members, remove non-owners and
//! rename; owners promote members to admin and demote admins; anyone may leave; when the last
//! owner leaves, the store hands ownership to the longest-standing admin, else member.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::event::ServerEvent;
use crate::id::{RoomId, UserId};
use crate::membership::{
    Change, GROUP_NAME_MAX_CHARS, GroupMember, GroupUpdate, GroupView, Member, NewGroup, Role,
    RoomEvent,
};
use crate::model::{Message, Room, RoomKind, now};

use super::super::Engine;

/// How many members [`Engine::group`] includes with the room; the rest are paged.
const GROUP_VIEW_MEMBERS: usize = 100;

/// A group name: 1 to [`GROUP_NAME_MAX_CHARS`] characters once trimmed.
fn group_name(name: &str) -> Result<String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > GROUP_NAME_MAX_CHARS {
        return Err(Error::Invalid("name must be 1 to 100 characters".into()));
    }
    Ok(name.to_owned())
}

fn may_manage(role: Role) -> bool {
    matches!(role, Role::Owner | Role::Admin)
}

impl Engine {
    /// Creates a group named `name` owned by `caller`, with `member_ids` as members
    /// (duplicates and the caller ignored). Unknown users are `NotFound`; more members than
    /// `max_room_members` in all is a `Conflict`.
    pub async fn create_group(
        &self,
        caller: UserId,
        name: &str,
        member_ids: &[UserId],
    ) -> Result<GroupUpdate> {
        let name = group_name(name)?;
        let creator = self.user(caller).await?;
        let mut members = member_ids.to_vec();
        members.sort();
        members.dedup();
        members.retain(|&member| member != caller);
        self.all_exist(&members).await?;
        let group = NewGroup {
            id: RoomId::generate(),
            name,
            creator: caller,
            creator_name: creator.name,
            members,
            created_at: now(),
            max_members: self.inner.config.max_room_members,
        };
        self.carried(move |engine| async move {
            let (room, created) = engine.inner.store.create_group(group).await?;
            let update = engine.updated(room.id, vec![created]).await?;
            engine.notify_room_created(&update.room, caller);
            Ok(update)
        })
        .await
    }

    /// The group with its member count and first members, for a member of it.
    pub async fn group(&self, caller: UserId, room: RoomId) -> Result<GroupView> {
        let (room, _) = self.group_member(caller, room).await?;
        let (member_count, members) = tokio::try_join!(
            self.inner.store.member_count(room.id),
            self.group_members(caller, room.id, None, GROUP_VIEW_MEMBERS)
        )?;
        Ok(GroupView {
            room,
            member_count,
            members,
        })
    }

    /// A page of the group's members by user id, after `after`, at most `limit`; for members.
    pub async fn group_members(
        &self,
        caller: UserId,
        room: RoomId,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<GroupMember>> {
        self.group_member(caller, room).await?;
        let members = self.inner.store.members(room, after, limit).await?;
        let ids: Vec<UserId> = members.iter().map(|member| member.user_id).collect();
        let users = self.inner.store.users(&ids).await?;
        Ok(members
            .into_iter()
            .filter_map(|member| {
                let user = users.iter().find(|user| user.id == member.user_id)?.clone();
                Some(GroupMember { member, user })
            })
            .collect())
    }

    /// The group `room` and the caller's membership in it: `NotFound` for unknown rooms,
    /// `Invalid` for direct rooms, `Forbidden` for non-members. Read from the store every
    /// time, so a removed member is refused at once.
    pub async fn group_member(&self, caller: UserId, room: RoomId) -> Result<(Room, Member)> {
        let (found, member) = tokio::try_join!(
            self.inner.store.room(room),
            self.inner.store.member(room, caller)
        )?;
        let room = found.ok_or_else(|| Error::NotFound("room not found".into()))?;
        if room.kind != RoomKind::Group {
            return Err(Error::Invalid("not a group room".into()));
        }
        let member = member.ok_or_else(|| Error::Forbidden("not a member of this room".into()))?;
        Ok((room, member))
    }

    /// Adds `user_ids` to the group (owners and admins only). Members already in it are
    /// skipped; unknown users are `NotFound`; a full room is a `Conflict`.
    pub async fn add_members(
        &self,
        caller: UserId,
        room: RoomId,
        user_ids: &[UserId],
    ) -> Result<GroupUpdate> {
        let change = self.manager_change(caller, room).await?;
        self.all_exist(user_ids).await?;
        self.record_members_added(change, user_ids.to_vec()).await
    }

    /// Takes `user` out of the group: the caller itself leaving (anyone may), or an owner or
    /// admin removing a member or admin (never an owner).
    pub async fn remove_member(
        &self,
        caller: UserId,
        room: RoomId,
        user: UserId,
    ) -> Result<GroupUpdate> {
        let change = if user == caller {
            self.change(caller, room).await?.0
        } else {
            let change = self.manager_change(caller, room).await?;
            let target = self
                .inner
                .store
                .member(room, user)
                .await?
                .ok_or_else(|| Error::NotFound("not a member of this room".into()))?;
            if target.role == Role::Owner {
                return Err(Error::Forbidden("an owner cannot be removed".into()));
            }
            change
        };
        self.carried(move |engine| async move {
            let entries = engine.inner.store.remove_member(&change, user).await?;
            let update = engine.updated(room, entries).await?;
            engine.notify_members_changed(room, &update.entries);
            Ok(update)
        })
        .await
    }

    /// Renames the group (owners and admins only).
    pub async fn rename_group(
        &self,
        caller: UserId,
        room: RoomId,
        name: &str,
    ) -> Result<GroupUpdate> {
        let name = group_name(name)?;
        let change = self.manager_change(caller, room).await?;
        self.carried(move |engine| async move {
            let entry = engine.inner.store.rename(&change, &name).await?;
            engine.updated(room, vec![entry]).await
        })
        .await
    }

    /// Makes a member an admin or an admin a member (owners only; owners keep their role).
    /// Setting the role a member already has records nothing.
    pub async fn set_role(
        &self,
        caller: UserId,
        room: RoomId,
        user: UserId,
        role: Role,
    ) -> Result<GroupUpdate> {
        if role == Role::Owner {
            return Err(Error::Invalid("role must be admin or member".into()));
        }
        let (change, own) = self.change(caller, room).await?;
        if own != Role::Owner {
            return Err(Error::Forbidden("only owners change roles".into()));
        }
        let target = self
            .inner
            .store
            .member(room, user)
            .await?
            .ok_or_else(|| Error::NotFound("not a member of this room".into()))?;
        if target.role == Role::Owner {
            return Err(Error::Forbidden("an owner's role cannot be changed".into()));
        }
        self.carried(move |engine| async move {
            let entry = engine.inner.store.set_role(&change, user, role).await?;
            engine.updated(room, entry.into_iter().collect()).await
        })
        .await
    }

    /// Adds `users` to the room as `change`, announces it, and starts the new members' read
    /// positions; shared with server-side additions.
    pub(in crate::engine) async fn record_members_added(
        &self,
        change: Change,
        users: Vec<UserId>,
    ) -> Result<GroupUpdate> {
        let room = change.room;
        self.carried(move |engine| async move {
            let max_members = engine.inner.config.max_room_members;
            let entries = engine
                .inner
                .store
                .add_members(&change, &users, max_members)
                .await?;
            let reading = engine.start_reading(&entries).await;
            let update = engine.updated(room, entries).await?;
            engine.notify_members_changed(room, &update.entries);
            reading?;
            Ok(update)
        })
        .await
    }

    /// A change by `caller`, a member of `room`, with its role.
    async fn change(&self, caller: UserId, room: RoomId) -> Result<(Change, Role)> {
        let ((_, member), actor) =
            tokio::try_join!(self.group_member(caller, room), self.user(caller))?;
        let change = Change {
            room,
            actor: caller,
            actor_name: actor.name,
            at: now(),
        };
        Ok((change, member.role))
    }

    /// A change by `caller`, who must be an owner or admin of `room`.
    async fn manager_change(&self, caller: UserId, room: RoomId) -> Result<Change> {
        let (change, role) = self.change(caller, room).await?;
        if !may_manage(role) {
            return Err(Error::Forbidden(
                "only owners and admins may do this".into(),
            ));
        }
        Ok(change)
    }

    /// Fails with `NotFound` unless every id is a registered user.
    pub(in crate::engine) async fn all_exist(&self, ids: &[UserId]) -> Result<()> {
        let mut wanted = ids.to_vec();
        wanted.sort();
        wanted.dedup();
        let found = self.inner.store.users(&wanted).await?;
        if found.len() != wanted.len() {
            return Err(Error::NotFound("user not found".into()));
        }
        Ok(())
    }

    /// Every member of the group `room`, by user id.
    pub(crate) async fn group_member_ids(&self, room: RoomId) -> Result<Arc<[UserId]>> {
        let members = self
            .inner
            .store
            .members(room, None, self.inner.config.max_room_members.max(1))
            .await?;
        Ok(members.into_iter().map(|member| member.user_id).collect())
    }

    /// Starts each added member's read position just before the entry adding it, so what
    /// was said before they joined does not count as unread.
    pub(in crate::engine) async fn start_reading(&self, entries: &[Message]) -> Result<()> {
        let starts = entries.iter().filter_map(|entry| match entry.event {
            Some(RoomEvent::Added { user_id, .. }) => Some((entry.room_id, user_id, entry.seq)),
            _ => None,
        });
        for (room, user, seq) in starts {
            self.inner
                .store
                .mark_read(room, user, seq.saturating_sub(1))
                .await?;
        }
        Ok(())
    }

    /// Reads the room after a change, moves the sockets of users who joined into the room
    /// (here, and on every node through the notices topic), and fans the entries out to the
    /// room: a user who left or was removed gets the entry recording it as its last event of
    /// the room.
    pub(in crate::engine) async fn updated(
        &self,
        room: RoomId,
        entries: Vec<Message>,
    ) -> Result<GroupUpdate> {
        for entry in &entries {
            let joined = match &entry.event {
                Some(RoomEvent::Created { .. }) => {
                    Some(self.group_member_ids(room).await?.to_vec())
                }
                Some(RoomEvent::Added { user_id, .. }) => Some(vec![*user_id]),
                Some(RoomEvent::Removed { .. } | RoomEvent::Left { .. }) => Some(Vec::new()),
                _ => None,
            };
            if let Some(joined) = joined {
                self.members_changed(room, joined, entry.seq);
            }
            self.fanout_room(room, ServerEvent::Message(entry.clone()));
        }
        let room = self
            .inner
            .store
            .room(room)
            .await?
            .ok_or_else(|| Error::NotFound("room not found".into()))?;
        Ok(GroupUpdate { room, entries })
    }
}

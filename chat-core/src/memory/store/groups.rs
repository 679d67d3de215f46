//! The memory store's group rooms: creating them, membership changes with their timeline
//! entries, roles and member paging.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::MemoryStore;
use crate::error::{Error, Result};
use crate::id::{RoomId, UserId};
use crate::membership::{self, Change, Member, NewGroup, Role, RoomEvent};
use crate::model::{Message, Room};
use crate::store::GroupStore;

/// The writes' work, done at once; the trait's methods answer after it (see
/// [`MemoryStore::with_answer_delay`]).
impl MemoryStore {
    fn create_group_now(&self, group: NewGroup) -> Result<(Room, Message)> {
        let mut state = self.state();
        if state.rooms.contains_key(&group.id) {
            return Err(Error::Conflict("room id already used".into()));
        }
        let members: BTreeMap<UserId, Member> = group
            .initial_members()
            .into_iter()
            .map(|member| (member.user_id, member))
            .collect();
        if members.len() > group.max_members {
            return Err(Error::Conflict("too many members".into()));
        }
        let room = group.room();
        state.rooms.insert(room.id, room);
        state.groups.insert(group.id, members);
        let created = state.push_entry(membership::event_entry(
            group.id,
            group.creator,
            &group.creator_name,
            group.created_at,
            RoomEvent::Created { name: group.name },
        ));
        let room = state.rooms[&group.id].clone();
        Ok((room, created))
    }

    fn add_members_now(
        &self,
        change: &Change,
        users: &[UserId],
        max_members: usize,
    ) -> Result<Vec<Message>> {
        let mut state = self.state();
        let members = state.group_mut(change.room)?;
        let mut new: Vec<UserId> = Vec::new();
        for &user in users {
            if !members.contains_key(&user) && !new.contains(&user) {
                new.push(user);
            }
        }
        if members.len() + new.len() > max_members {
            return Err(Error::Conflict("the room is full".into()));
        }
        for &user in &new {
            members.insert(
                user,
                Member {
                    user_id: user,
                    role: Role::Member,
                    joined_at: change.at,
                },
            );
        }
        Ok(new
            .into_iter()
            .map(|user| {
                state.push_entry(change.entry(RoomEvent::Added {
                    user_id: user,
                    role: Role::Member,
                }))
            })
            .collect())
    }

    fn remove_member_now(&self, change: &Change, user: UserId) -> Result<Vec<Message>> {
        let mut state = self.state();
        let members = state.group_mut(change.room)?;
        let removed = members
            .remove(&user)
            .ok_or_else(|| Error::NotFound("not a member".into()))?;
        let orphaned = removed.role == Role::Owner
            && !members.values().any(|member| member.role == Role::Owner);
        let heir = orphaned
            .then(|| membership::heir(members.values()).cloned())
            .flatten();
        if let Some(heir) = &heir
            && let Some(member) = members.get_mut(&heir.user_id)
        {
            member.role = Role::Owner;
        }
        let event = if user == change.actor {
            RoomEvent::Left { user_id: user }
        } else {
            RoomEvent::Removed { user_id: user }
        };
        let mut entries = vec![state.push_entry(change.entry(event))];
        if let Some(heir) = heir {
            let heir_name = state
                .users
                .get(&heir.user_id)
                .map(|(user, _)| user.name.clone())
                .unwrap_or_default();
            entries.push(state.push_entry(membership::event_entry(
                change.room,
                heir.user_id,
                &heir_name,
                change.at,
                RoomEvent::RoleChanged {
                    user_id: heir.user_id,
                    role: Role::Owner,
                },
            )));
        }
        Ok(entries)
    }

    fn set_role_now(&self, change: &Change, user: UserId, role: Role) -> Result<Option<Message>> {
        let mut state = self.state();
        let member = state
            .group_mut(change.room)?
            .get_mut(&user)
            .ok_or_else(|| Error::NotFound("not a member".into()))?;
        if member.role == role {
            return Ok(None);
        }
        member.role = role;
        Ok(Some(state.push_entry(change.entry(
            RoomEvent::RoleChanged {
                user_id: user,
                role,
            },
        ))))
    }

    fn rename_now(&self, change: &Change, name: &str) -> Result<Message> {
        let mut state = self.state();
        state.group_mut(change.room)?;
        if let Some(group) = state
            .rooms
            .get_mut(&change.room)
            .and_then(|room| room.group.as_mut())
        {
            group.name = name.to_owned();
        }
        Ok(state.push_entry(change.entry(RoomEvent::Renamed { name: name.into() })))
    }
}

#[async_trait]
impl GroupStore for MemoryStore {
    async fn create_group(&self, group: NewGroup) -> Result<(Room, Message)> {
        self.answer_later(self.create_group_now(group)).await
    }

    async fn member(&self, room: RoomId, user: UserId) -> Result<Option<Member>> {
        let state = self.state();
        Ok(state
            .groups
            .get(&room)
            .and_then(|members| members.get(&user))
            .cloned())
    }

    async fn members(
        &self,
        room: RoomId,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<Member>> {
        let state = self.state();
        let Some(members) = state.groups.get(&room) else {
            return Ok(Vec::new());
        };
        Ok(members
            .values()
            .filter(|member| after.is_none_or(|after| member.user_id > after))
            .take(limit)
            .cloned()
            .collect())
    }

    async fn member_count(&self, room: RoomId) -> Result<usize> {
        Ok(self.state().groups.get(&room).map_or(0, BTreeMap::len))
    }

    async fn add_members(
        &self,
        change: &Change,
        users: &[UserId],
        max_members: usize,
    ) -> Result<Vec<Message>> {
        self.answer_later(self.add_members_now(change, users, max_members))
            .await
    }

    async fn remove_member(&self, change: &Change, user: UserId) -> Result<Vec<Message>> {
        self.answer_later(self.remove_member_now(change, user))
            .await
    }

    async fn set_role(&self, change: &Change, user: UserId, role: Role) -> Result<Option<Message>> {
        self.answer_later(self.set_role_now(change, user, role))
            .await
    }

    async fn rename(&self, change: &Change, name: &str) -> Result<Message> {
        self.answer_later(self.rename_now(change, name)).await
    }
}

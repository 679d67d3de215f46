//! Group rooms without multi-document transactions (FerretDB v1 has none, and its updates are
//! not atomic either), so every promise rests on unique-index inserts and on the history:
//!
//! - A membership is one document whose `_id` is `"{room}:{user}"`: of several servers adding
//!   one user at once exactly one insert succeeds, and only that one records `Added`. Removal
//!   is a delete, which likewise succeeds once.
//! - The member limit is checked before inserting and again by counting after: an add that
//!   finds the group over the limit takes its own inserts back and fails, so racing adds may
//!   both be refused near the limit, but the group never stays over it.
//! - Timeline entries take the room's next seq through the append protocol of `messages`.
//!   A group's name is its newest `Renamed` entry (highest seq), so of racing renames the last
//!   one names the room whatever order their writes landed in; the room document keeps only
//!   the name it was created with.
//! - The hand-over of ownership is recorded under a key made from the heir's join time and
//!   with the heir as sender, so owners leaving at once record it once.
//! - A membership is written before its entry: a server dying in between leaves a member
//!   whose `Added` (or a removal whose `Removed`) is missing from the history, never an entry
//!   for a change that did not happen. A group is created members first and room document
//!   last, so it appears whole or not at all (its `Created` entry follows).

use async_trait::async_trait;
use chat_core::membership::{self, Change, Member, NewGroup, Role, RoomEvent};
use chat_core::model::{Message, Room};
use chat_core::store::GroupStore;
use chat_core::{Result, RoomId, UserId};
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};

use crate::codec::{self, member_key, oid};
use crate::error::MongoError;
use crate::schema::field::*;
use crate::store::MongoStore;
use crate::users::limit;

impl MongoStore {
    /// The name given by the group's newest rename, if it was ever renamed.
    pub(crate) async fn latest_name(&self, room: RoomId) -> Result<Option<String>, MongoError> {
        let found = self
            .run(
                self.messages
                    .find_one(doc! { ROOM: oid(room.0), EVENT_KIND: "renamed" })
                    .sort(doc! { SEQ: -1 })
                    .projection(doc! { EVENT_NAME: 1 }),
            )
            .await?;
        Ok(found.and_then(|doc| doc.get_str(EVENT_NAME).ok().map(str::to_owned)))
    }

    /// The ids of the groups `user` is a member of.
    pub(crate) async fn group_ids_of(&self, user: UserId) -> Result<Vec<Bson>, MongoError> {
        let found: Vec<Document> = self
            .run(async {
                self.members
                    .find(doc! { USER: oid(user.0) })
                    .projection(doc! { ROOM: 1 })
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        Ok(found
            .into_iter()
            .filter_map(|doc| doc.get(ROOM).cloned())
            .collect())
    }

    /// Fails unless `room` is an existing group.
    async fn check_group(&self, room: RoomId) -> Result<(), MongoError> {
        let found = self
            .run(
                self.rooms
                    .find_one(doc! { ID: oid(room.0) })
                    .projection(doc! { KIND: 1 }),
            )
            .await?;
        match found {
            None => Err(MongoError::RoomNotFound),
            Some(doc) if doc.get_str(KIND) == Ok("group") => Ok(()),
            Some(_) => Err(MongoError::NotAGroup),
        }
    }

    async fn find_member(&self, room: RoomId, user: UserId) -> Result<Option<Member>, MongoError> {
        let found = self
            .run(self.members.find_one(doc! { ID: member_key(room, user) }))
            .await?;
        found.as_ref().map(codec::member).transpose()
    }

    async fn count_members(&self, room: RoomId) -> Result<usize, MongoError> {
        let count = self
            .run(self.members.count_documents(doc! { ROOM: oid(room.0) }))
            .await?;
        Ok(usize::try_from(count).unwrap_or(usize::MAX))
    }

    /// Appends `entry` under a fresh server key; it is a new entry, so it is always created.
    async fn record(&self, entry: Message) -> Result<Message, MongoError> {
        let key = codec::client_key(entry.id, None);
        Ok(self.append_entry(entry, &key).await?.0)
    }

    /// Inserts one membership; false when the user already is a member.
    async fn insert_member(&self, room: RoomId, member: &Member) -> Result<bool, MongoError> {
        match self
            .run(self.members.insert_one(codec::member_doc(room, member)))
            .await
        {
            Ok(_) => Ok(true),
            Err(error) if error.is_duplicate_key() => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn delete_members(&self, room: RoomId, users: &[UserId]) -> Result<(), MongoError> {
        let keys: Vec<String> = users.iter().map(|&user| member_key(room, user)).collect();
        self.run(self.members.delete_many(doc! { ID: { "$in": keys } }))
            .await?;
        Ok(())
    }

    /// When no owner is left, makes the heir owner and records it once; `None` when an owner
    /// remains, nobody does, or another server recorded the same hand-over.
    async fn hand_over(&self, change: &Change) -> Result<Option<Message>, MongoError> {
        let room = oid(change.room.0);
        let owner = self
            .run(
                self.members
                    .find_one(doc! { ROOM: room, ROLE: Role::Owner.as_str() })
                    .projection(doc! { ID: 1 }),
            )
            .await?;
        if owner.is_some() {
            return Ok(None);
        }
        let mut heir = None;
        for role in [Role::Admin, Role::Member] {
            heir = self
                .run(
                    self.members
                        .find_one(doc! { ROOM: room, ROLE: role.as_str() })
                        .sort(doc! { JOINED_AT: 1, USER: 1 }),
                )
                .await?;
            if heir.is_some() {
                break;
            }
        }
        let Some(heir) = heir.as_ref().map(codec::member).transpose()? else {
            return Ok(None);
        };
        let updated = self
            .run(self.members.update_one(
                doc! { ID: member_key(change.room, heir.user_id) },
                doc! { "$set": { ROLE: Role::Owner.as_str() } },
            ))
            .await?;
        if updated.matched_count == 0 {
            return Ok(None);
        }
        let name = self
            .run(
                self.users
                    .find_one(doc! { ID: oid(heir.user_id.0) })
                    .projection(doc! { NAME: 1 }),
            )
            .await?
            .and_then(|doc| doc.get_str(NAME).ok().map(str::to_owned))
            .unwrap_or_default();
        let entry = membership::event_entry(
            change.room,
            heir.user_id,
            &name,
            change.at,
            RoomEvent::RoleChanged {
                user_id: heir.user_id,
                role: Role::Owner,
            },
        );
        let key = format!("e:owner:{}", heir.joined_at.timestamp_millis());
        let (entry, created) = self.append_entry(entry, &key).await?;
        Ok(created.then_some(entry))
    }
}

#[async_trait]
impl GroupStore for MongoStore {
    async fn create_group(&self, group: NewGroup) -> Result<(Room, Message)> {
        let members = group.initial_members();
        if members.len() > group.max_members {
            return Err(MongoError::RoomFull.into());
        }
        let taken = self
            .run(self.rooms.find_one(doc! { ID: oid(group.id.0) }))
            .await?;
        if taken.is_some() {
            return Err(chat_core::Error::Conflict("room id already used".into()));
        }
        let docs = members
            .iter()
            .map(|member| codec::member_doc(group.id, member));
        self.run(self.members.insert_many(docs)).await?;
        let room = group.room();
        let info = room.group.as_ref().expect("just set");
        self.run(self.rooms.insert_one(codec::group_doc(&room, info)))
            .await?;
        let created = self
            .record(membership::event_entry(
                group.id,
                group.creator,
                &group.creator_name,
                group.created_at,
                RoomEvent::Created { name: group.name },
            ))
            .await?;
        let room = Room {
            last_activity: room.last_activity.max(created.timestamp),
            last_message: Some(created.clone()),
            ..room
        };
        Ok((room, created))
    }

    async fn member(&self, room: RoomId, user: UserId) -> Result<Option<Member>> {
        Ok(self.find_member(room, user).await?)
    }

    async fn members(
        &self,
        room: RoomId,
        after: Option<UserId>,
        limit: usize,
    ) -> Result<Vec<Member>> {
        let Some(limit) = self::limit(limit) else {
            return Ok(Vec::new());
        };
        let mut filter = doc! { ROOM: oid(room.0) };
        if let Some(after) = after {
            filter.insert(USER, doc! { "$gt": oid(after.0) });
        }
        let found = self
            .find_sorted(&self.members, filter, doc! { USER: 1 }, limit)
            .await?;
        Ok(found
            .iter()
            .map(codec::member)
            .collect::<Result<_, MongoError>>()?)
    }

    async fn member_count(&self, room: RoomId) -> Result<usize> {
        Ok(self.count_members(room).await?)
    }

    async fn add_members(
        &self,
        change: &Change,
        users: &[UserId],
        max_members: usize,
    ) -> Result<Vec<Message>> {
        self.check_group(change.room).await?;
        let mut candidates: Vec<UserId> = Vec::new();
        for &user in users {
            if !candidates.contains(&user) {
                candidates.push(user);
            }
        }
        let keys: Vec<String> = candidates
            .iter()
            .map(|&user| member_key(change.room, user))
            .collect();
        let existing: Vec<Document> = self
            .run(async {
                self.members
                    .find(doc! { ID: { "$in": keys } })
                    .projection(doc! { USER: 1 })
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        candidates.retain(|user| {
            !existing
                .iter()
                .any(|doc| doc.get_object_id(USER).ok() == Some(oid(user.0)))
        });
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        if self.count_members(change.room).await? + candidates.len() > max_members {
            return Err(MongoError::RoomFull.into());
        }
        let mut inserted = Vec::with_capacity(candidates.len());
        for user in candidates {
            let member = Member {
                user_id: user,
                role: Role::Member,
                joined_at: change.at,
            };
            match self.insert_member(change.room, &member).await {
                Ok(true) => inserted.push(user),
                Ok(false) => {}
                Err(error) => {
                    self.delete_members(change.room, &inserted).await?;
                    return Err(error.into());
                }
            }
        }
        if self.count_members(change.room).await? > max_members {
            self.delete_members(change.room, &inserted).await?;
            return Err(MongoError::RoomFull.into());
        }
        let mut entries = Vec::with_capacity(inserted.len());
        for user in inserted {
            let entry = change.entry(RoomEvent::Added {
                user_id: user,
                role: Role::Member,
            });
            entries.push(self.record(entry).await?);
        }
        Ok(entries)
    }

    async fn remove_member(&self, change: &Change, user: UserId) -> Result<Vec<Message>> {
        self.check_group(change.room).await?;
        let removed = self
            .find_member(change.room, user)
            .await?
            .ok_or(MongoError::NotAMember)?;
        let deleted = self
            .run(
                self.members
                    .delete_one(doc! { ID: member_key(change.room, user) }),
            )
            .await?;
        if deleted.deleted_count == 0 {
            return Err(MongoError::NotAMember.into());
        }
        let event = if user == change.actor {
            RoomEvent::Left { user_id: user }
        } else {
            RoomEvent::Removed { user_id: user }
        };
        let mut entries = vec![self.record(change.entry(event)).await?];
        if removed.role == Role::Owner {
            entries.extend(self.hand_over(change).await?);
        }
        Ok(entries)
    }

    async fn set_role(&self, change: &Change, user: UserId, role: Role) -> Result<Option<Message>> {
        self.check_group(change.room).await?;
        let member = self
            .find_member(change.room, user)
            .await?
            .ok_or(MongoError::NotAMember)?;
        if member.role == role {
            return Ok(None);
        }
        let updated = self
            .run(self.members.update_one(
                doc! { ID: member_key(change.room, user) },
                doc! { "$set": { ROLE: role.as_str() } },
            ))
            .await?;
        if updated.matched_count == 0 {
            return Err(MongoError::NotAMember.into());
        }
        let entry = change.entry(RoomEvent::RoleChanged {
            user_id: user,
            role,
        });
        Ok(Some(self.record(entry).await?))
    }

    async fn rename(&self, change: &Change, name: &str) -> Result<Message> {
        self.check_group(change.room).await?;
        let entry = change.entry(RoomEvent::Renamed { name: name.into() });
        Ok(self.record(entry).await?)
    }
}

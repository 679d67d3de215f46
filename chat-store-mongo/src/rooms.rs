//! Rooms: the one direct room per pair, lookups and a member's room list (direct rooms and
//! groups).
//!
//! A room's last message is read from the history (one step down the (room, seq) index) rather
//! than kept in the room document: a copy there would have to be moved forward by a conditional
//! update, which FerretDB v1 does not apply atomically, so racing appends from two servers
//! could leave an older message in it for good. The history cannot be wrong.

use async_trait::async_trait;
use chat_core::model::{Room, RoomKind, Timestamp};
use chat_core::store::RoomStore;
use chat_core::{Result, RoomId, UserId};
use futures_util::TryStreamExt;
use futures_util::future::try_join_all;
use mongodb::bson::{Document, doc};

use crate::codec::{self, oid};
use crate::error::MongoError;
use crate::schema::field::*;
use crate::store::MongoStore;
use crate::users::limit;

impl MongoStore {
    /// A room document with its last message; its activity is at least that message's time,
    /// even if the append that stored it could not raise `last_activity`. A group also gets
    /// its current name from its newest rename.
    pub(crate) async fn with_last_message(&self, doc: &Document) -> Result<Room, MongoError> {
        let mut room = codec::room(doc)?;
        let renamed = async {
            match room.group {
                Some(_) => self.latest_name(room.id).await,
                None => Ok(None),
            }
        };
        let (last_message, renamed) = tokio::try_join!(self.latest_message(room.id), renamed)?;
        room.last_message = last_message;
        if let (Some(group), Some(name)) = (room.group.as_mut(), renamed) {
            group.name = name;
        }
        if let Some(last) = &room.last_message {
            room.last_activity = room.last_activity.max(last.timestamp);
        }
        Ok(room)
    }

    async fn direct_room_by_key(&self, key: &str) -> Result<Option<Room>, MongoError> {
        let found = self
            .run(self.rooms.find_one(doc! { DIRECT_KEY: key }))
            .await?;
        match found {
            Some(doc) => Ok(Some(self.with_last_message(&doc).await?)),
            None => Ok(None),
        }
    }
}

#[async_trait]
impl RoomStore for MongoStore {
    /// Look up by the pair's key; if absent, insert, and when the unique key index says another
    /// server inserted first, read theirs. A plain insert rather than an upsert with
    /// `$setOnInsert`: concurrent upserts can also fail with a duplicate key on MongoDB, so the
    /// retry is needed either way, and FerretDB v1 runs an upsert as a query and an insert.
    async fn direct_room(&self, a: UserId, b: UserId, now: Timestamp) -> Result<Room> {
        let key = codec::direct_key(a, b);
        if let Some(room) = self.direct_room_by_key(&key).await? {
            return Ok(room);
        }
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        let room = Room {
            id: RoomId::generate(),
            kind: RoomKind::Direct,
            members: vec![low, high],
            created_at: now,
            last_activity: now,
            last_message: None,
            group: None,
        };
        match self
            .run(self.rooms.insert_one(codec::room_doc(&room)))
            .await
        {
            Ok(_) => Ok(room),
            Err(error) if error.is_duplicate_key() => match self.direct_room_by_key(&key).await? {
                Some(theirs) => Ok(theirs),
                None => Err(error.into()),
            },
            Err(error) => Err(error.into()),
        }
    }

    async fn room(&self, id: RoomId) -> Result<Option<Room>> {
        let found = self
            .run(self.rooms.find_one(doc! { ID: oid(id.0) }))
            .await?;
        match found {
            Some(doc) => Ok(Some(self.with_last_message(&doc).await?)),
            None => Ok(None),
        }
    }

    /// Direct rooms come from the (members, last_activity, _id) index, groups from the user's
    /// memberships, each list newest first and cut at the limit; then their last messages from
    /// the history, all at once.
    async fn rooms_of(&self, user: UserId, limit: usize) -> Result<Vec<Room>> {
        let Some(max) = self::limit(limit) else {
            return Ok(Vec::new());
        };
        let newest_first = doc! { LAST_ACTIVITY: -1, ID: -1 };
        let direct = self.find_sorted(
            &self.rooms,
            doc! { MEMBERS: oid(user.0) },
            newest_first.clone(),
            max,
        );
        let groups = async {
            let ids = self.group_ids_of(user).await?;
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            self.find_sorted(&self.rooms, doc! { ID: { "$in": ids } }, newest_first, max)
                .await
        };
        let (mut found, groups) = tokio::try_join!(direct, groups)?;
        found.extend(groups);
        let mut rooms = try_join_all(found.iter().map(|doc| self.with_last_message(doc))).await?;
        // A room whose last activity had to be taken from its last message moves up.
        rooms.sort_by(|a, b| b.last_activity.cmp(&a.last_activity).then(b.id.cmp(&a.id)));
        rooms.truncate(limit);
        Ok(rooms)
    }

    /// The direct rooms' ids from the members index, the groups' from the memberships.
    async fn room_ids_of(&self, user: UserId) -> Result<Vec<RoomId>> {
        let direct = async {
            self.run(async {
                self.rooms
                    .find(doc! { MEMBERS: oid(user.0) })
                    .projection(doc! { ID: 1 })
                    .await?
                    .try_collect::<Vec<Document>>()
                    .await
            })
            .await
        };
        let (direct, groups) = tokio::try_join!(direct, self.group_ids_of(user))?;
        let ids = direct
            .iter()
            .filter_map(|doc| doc.get(ID))
            .chain(&groups)
            .filter_map(|id| id.as_object_id())
            .map(|id| RoomId(chat_core::id::RawId::from_bytes(id.bytes())))
            .collect();
        Ok(ids)
    }
}

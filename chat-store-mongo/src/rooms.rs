//! Rooms: the one direct room per pair, lookups and a member's room list.

use async_trait::async_trait;
use chat_core::model::{Room, RoomKind, Timestamp};
use chat_core::store::RoomStore;
use chat_core::{Result, RoomId, UserId};
use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};

use crate::codec::{self, oid};
use crate::error::MongoError;
use crate::schema::field::*;
use crate::store::MongoStore;
use crate::users::limit;

impl MongoStore {
    async fn direct_room_by_key(&self, key: &str) -> Result<Option<Room>, MongoError> {
        let found = self
            .run(self.rooms.find_one(doc! { DIRECT_KEY: key }))
            .await?;
        found.as_ref().map(codec::room).transpose()
    }
}

#[async_trait]
impl RoomStore for MongoStore {
    /// Look up by the pair's key; if absent, insert, and when the unique key index says another
    /// server inserted first, read theirs. A plain insert rather than an upsert with
    /// `$setOnInsert`: concurrent upserts can also fail with a duplicate key on MongoDB, so the
    /// retry is needed either way, and the insert works on every compatible server.
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
        Ok(found.as_ref().map(codec::room).transpose()?)
    }

    /// Served by the (members, last_activity, _id) index: the room documents carry their last
    /// message, so the list is one query.
    async fn rooms_of(&self, user: UserId, limit: usize) -> Result<Vec<Room>> {
        let Some(limit) = self::limit(limit) else {
            return Ok(Vec::new());
        };
        let found: Vec<Document> = self
            .run(async {
                self.rooms
                    .find(doc! { MEMBERS: oid(user.0) })
                    .sort(doc! { LAST_ACTIVITY: -1, ID: -1 })
                    .limit(limit)
                    .await?
                    .try_collect()
                    .await
            })
            .await?;
        Ok(found
            .iter()
            .map(codec::room)
            .collect::<Result<_, MongoError>>()?)
    }
}

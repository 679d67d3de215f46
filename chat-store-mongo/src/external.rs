//! Host-owned users: `external_users` maps each external id (its `_id`, so unique) to one
//! user (`user`, unique too).
//!
//! Without multi-document transactions the user is inserted before its mapping: a reader
//! that finds a mapping always finds its user. Of racing first upserts the mapping insert
//! decides; each loser deletes the user it inserted and renames the winner's.

use chat_core::model::{NewUser, User};
use mongodb::bson::{Document, doc};

use crate::codec::{self, oid};
use crate::error::MongoError;
use crate::schema::EXTERNAL_USERS;
use crate::schema::field::*;
use crate::store::MongoStore;

impl MongoStore {
    /// The user mapped to `external_id`, created from `user` when there is none, else renamed.
    pub(crate) async fn upsert_external(
        &self,
        external_id: &str,
        user: NewUser,
    ) -> Result<User, MongoError> {
        if let Some(mapped) = self.mapped_user(external_id).await? {
            return self.rename_user(mapped, &user.name).await;
        }
        self.run(self.users.insert_one(codec::user_doc(&user)))
            .await?;
        let mapping = doc! { ID: external_id, USER: oid(user.id.0) };
        match self.run(self.external_users.insert_one(mapping)).await {
            Ok(_) => Ok(User {
                id: user.id,
                email: user.email,
                name: user.name,
                created_at: user.created_at,
            }),
            Err(error) if error.is_duplicate_key() => {
                self.run(self.users.delete_one(doc! { ID: oid(user.id.0) }))
                    .await?;
                let mapped = self
                    .mapped_user(external_id)
                    .await?
                    .ok_or(MongoError::UserNotFound)?;
                self.rename_user(mapped, &user.name).await
            }
            Err(error) => Err(error),
        }
    }

    /// The user mapped to `external_id`, if any.
    pub(crate) async fn external(&self, external_id: &str) -> Result<Option<User>, MongoError> {
        let Some(mapped) = self.mapped_user(external_id).await? else {
            return Ok(None);
        };
        let found = self.run(self.users.find_one(doc! { ID: mapped })).await?;
        found.as_ref().map(codec::user).transpose()
    }

    async fn mapped_user(
        &self,
        external_id: &str,
    ) -> Result<Option<mongodb::bson::oid::ObjectId>, MongoError> {
        let found: Option<Document> = self
            .run(self.external_users.find_one(doc! { ID: external_id }))
            .await?;
        found
            .map(|mapping| {
                mapping
                    .get_object_id(USER)
                    .map_err(|source| MongoError::Malformed {
                        collection: EXTERNAL_USERS,
                        source,
                    })
            })
            .transpose()
    }

    async fn rename_user(
        &self,
        id: mongodb::bson::oid::ObjectId,
        name: &str,
    ) -> Result<User, MongoError> {
        self.run(
            self.users
                .update_one(doc! { ID: id }, doc! { "$set": { NAME: name } }),
        )
        .await?;
        let found = self.run(self.users.find_one(doc! { ID: id })).await?;
        found
            .as_ref()
            .map(codec::user)
            .transpose()?
            .ok_or(MongoError::UserNotFound)
    }
}

//! Revocation state: each user's token generation (a field of the user document, advanced
//! with `$inc` in the same update that may replace the password hash) and the sessions
//! revoked one by one (a document each, `_id` = the session id, kept until its token's
//! expiry; each revocation deletes that user's expired ones).

use chat_core::id::{RawId, SessionId, UserId};
use chat_core::model::{Revocations, Timestamp, now};
use futures_util::TryStreamExt;
use mongodb::bson::{Document, doc};
use mongodb::options::{FindOneAndUpdateOptions, ReplaceOptions, ReturnDocument};

use crate::codec::{self, date, oid};
use crate::error::MongoError;
use crate::schema::field::*;
use crate::store::MongoStore;

impl MongoStore {
    pub(crate) async fn read_revocations(&self, user: UserId) -> Result<Revocations, MongoError> {
        let generation = self
            .run(
                self.users
                    .find_one(doc! { ID: oid(user.0) })
                    .projection(doc! { TOKEN_GENERATION: 1 }),
            )
            .await?
            .map(|found| codec::unsigned(&found, TOKEN_GENERATION).unwrap_or(0))
            .unwrap_or(0);
        let filter = doc! { USER: oid(user.0), EXPIRES_AT: { "$gt": date(now()) } };
        let revoked: Vec<Document> = self
            .run(async { self.revoked.find(filter).await?.try_collect().await })
            .await?;
        let sessions = revoked
            .iter()
            .filter_map(|found| found.get_object_id(ID).ok())
            .map(|id| SessionId(RawId::from_bytes(id.bytes())))
            .collect();
        Ok(Revocations {
            generation,
            sessions,
        })
    }

    pub(crate) async fn store_revoked_session(
        &self,
        user: UserId,
        session: SessionId,
        expires_at: Timestamp,
    ) -> Result<(), MongoError> {
        self.run(
            self.revoked
                .delete_many(doc! { USER: oid(user.0), EXPIRES_AT: { "$lte": date(now()) } }),
        )
        .await?;
        let revoked = doc! { ID: oid(session.0), USER: oid(user.0), EXPIRES_AT: date(expires_at) };
        self.run(
            self.revoked
                .replace_one(doc! { ID: oid(session.0) }, revoked)
                .with_options(ReplaceOptions::builder().upsert(true).build()),
        )
        .await?;
        Ok(())
    }

    pub(crate) async fn advance_user_generation(
        &self,
        user: UserId,
        password_hash: Option<String>,
    ) -> Result<Option<u64>, MongoError> {
        let mut update = doc! { "$inc": { TOKEN_GENERATION: 1_i64 } };
        if let Some(password_hash) = password_hash {
            update.insert("$set", doc! { PASSWORD_HASH: password_hash });
        }
        // No projection: FerretDB v1 does not implement one on findAndModify.
        let options = FindOneAndUpdateOptions::builder()
            .return_document(ReturnDocument::After)
            .build();
        let updated = self
            .run(
                self.users
                    .find_one_and_update(doc! { ID: oid(user.0) }, update)
                    .with_options(options),
            )
            .await?;
        updated
            .map(|found| {
                codec::unsigned(&found, TOKEN_GENERATION).map_err(|source| MongoError::Malformed {
                    collection: crate::schema::USERS,
                    source,
                })
            })
            .transpose()
    }
}

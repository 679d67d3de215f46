//! Accounts: registration, lookups and search.

use async_trait::async_trait;
use chat_core::id::SessionId;
use chat_core::model::{Credentials, NewUser, Revocations, Timestamp, User};
use chat_core::store::UserStore;
use chat_core::{Error, Result, UserId};
use futures_util::TryStreamExt;
use mongodb::bson::{Bson, Document, doc};

use crate::codec::{self, oid};
use crate::error::MongoError;
use crate::schema::field::*;
use crate::store::MongoStore;

/// The answer to registering an email that exists, whether the other registration raced or not.
fn taken(error: MongoError) -> Error {
    if error.is_duplicate_key() {
        Error::Conflict("email already registered".into())
    } else {
        error.into()
    }
}

/// A regular expression matching `text` literally.
///
/// Search input is plain text: every character that means something to a regex engine is
/// escaped (the set escaped by the `regex` crate, which covers PCRE, MongoDB's engine, and
/// RE2, FerretDB's). A NUL becomes `\x00` because MongoDB refuses patterns that contain one.
/// The pattern only ever goes in as the value of `$regex`, so input never becomes an operator.
pub(crate) fn literal_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        match c {
            '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$'
            | '#' | '&' | '-' | '~' => {
                pattern.push('\\');
                pattern.push(c);
            }
            '\0' => pattern.push_str("\\x00"),
            c => pattern.push(c),
        }
    }
    pattern
}

/// How many documents to ask for; `None` when the caller asked for none, since MongoDB reads a
/// limit of 0 as "no limit".
pub(crate) fn limit(limit: usize) -> Option<i64> {
    (limit > 0).then(|| i64::try_from(limit).unwrap_or(i64::MAX))
}

impl MongoStore {
    async fn find_users(&self, filter: Document) -> Result<Vec<User>, MongoError> {
        let found: Vec<Document> = self
            .run(async { self.users.find(filter).await?.try_collect().await })
            .await?;
        found.iter().map(codec::user).collect()
    }
}

#[async_trait]
impl UserStore for MongoStore {
    async fn create_user(&self, user: NewUser) -> Result<User> {
        self.run(self.users.insert_one(codec::user_doc(&user)))
            .await
            .map_err(taken)?;
        Ok(User {
            id: user.id,
            email: user.email,
            name: user.name,
            created_at: user.created_at,
        })
    }

    /// One ordered `insert_many`, which stops at the first duplicate; the users it stored
    /// before that are then deleted again. Without multi-document transactions (FerretDB v1 has
    /// none, and MongoDB needs a replica set for them) that is the way to all-or-nothing; for a
    /// moment other readers may see part of a batch that ends up refused, and a database lost
    /// mid-import can leave its first part behind (the error says unavailable, and importing
    /// again reports those users as conflicts).
    async fn create_users(&self, users: Vec<NewUser>) -> Result<Vec<User>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let documents: Vec<Document> = users.iter().map(codec::user_doc).collect();
        if let Err(error) = self.run(self.users.insert_many(documents)).await {
            if let Some(stored) = error.inserted_prefix().filter(|&stored| stored > 0) {
                let ids: Vec<Bson> = users[..stored]
                    .iter()
                    .map(|user| Bson::ObjectId(oid(user.id.0)))
                    .collect();
                self.run(self.users.delete_many(doc! { ID: { "$in": ids } }))
                    .await?;
            }
            return Err(taken(error));
        }
        Ok(users
            .into_iter()
            .map(|user| User {
                id: user.id,
                email: user.email,
                name: user.name,
                created_at: user.created_at,
            })
            .collect())
    }

    async fn upsert_external_user(&self, external_id: &str, user: NewUser) -> Result<User> {
        Ok(self.upsert_external(external_id, user).await?)
    }

    async fn external_user(&self, external_id: &str) -> Result<Option<User>> {
        Ok(self.external(external_id).await?)
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        let found = self
            .run(self.users.find_one(doc! { ID: oid(id.0) }))
            .await?;
        Ok(found.as_ref().map(codec::user).transpose()?)
    }

    async fn users(&self, ids: &[UserId]) -> Result<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Bson> = ids.iter().map(|id| Bson::ObjectId(oid(id.0))).collect();
        Ok(self.find_users(doc! { ID: { "$in": ids } }).await?)
    }

    async fn credentials(&self, email: &str) -> Result<Option<Credentials>> {
        let found = self.run(self.users.find_one(doc! { EMAIL: email })).await?;
        Ok(found.as_ref().map(codec::credentials).transpose()?)
    }

    async fn search_users(
        &self,
        query: Option<&str>,
        exclude: UserId,
        limit: usize,
    ) -> Result<Vec<User>> {
        let Some(limit) = self::limit(limit) else {
            return Ok(Vec::new());
        };
        let mut filter = doc! { ID: { "$ne": oid(exclude.0) } };
        if let Some(query) = query {
            let pattern = literal_pattern(query);
            filter.insert(
                "$or",
                vec![
                    doc! { NAME: { "$regex": pattern.as_str(), "$options": "i" } },
                    doc! { EMAIL: { "$regex": pattern.as_str(), "$options": "i" } },
                ],
            );
        }
        let found = self
            .find_sorted(&self.users, filter, doc! { NAME: 1, ID: 1 }, limit)
            .await?;
        Ok(found
            .iter()
            .map(codec::user)
            .collect::<Result<_, MongoError>>()?)
    }

    async fn revocations(&self, user: UserId) -> Result<Revocations> {
        Ok(self.read_revocations(user).await?)
    }

    async fn revoke_session(
        &self,
        user: UserId,
        session: SessionId,
        expires_at: Timestamp,
    ) -> Result<()> {
        Ok(self
            .store_revoked_session(user, session, expires_at)
            .await?)
    }

    async fn advance_generation(&self, user: UserId, password_hash: Option<String>) -> Result<u64> {
        self.advance_user_generation(user, password_hash)
            .await?
            .ok_or_else(|| Error::NotFound("user not found".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_every_metacharacter() {
        assert_eq!(literal_pattern("a.*$gt{}[x]"), r"a\.\*\$gt\{\}\[x\]");
        assert_eq!(literal_pattern(r"\d+ (x|y)?^"), r"\\d\+ \(x\|y\)\?\^");
        assert_eq!(literal_pattern("nul\0"), r"nul\x00");
        assert_eq!(literal_pattern("Ann ü %_"), "Ann ü %_");
    }

    #[test]
    fn a_zero_limit_asks_for_nothing() {
        assert_eq!(limit(0), None);
        assert_eq!(limit(5), Some(5));
        assert_eq!(limit(usize::MAX), Some(i64::MAX));
    }
}

//! User lookups, host-owned users by external id ([`crate::users`]), and operators' bulk
//! imports and tokens.

use crate::error::{Error, Result};
use crate::id::UserId;
use crate::model::{ERASED_PASSWORD_HASH, NewUser, User, external_email, now};
use crate::users::{SYSTEM_EXTERNAL_ID, SYSTEM_NAME, validate_external_id};

use super::{Engine, validate};

impl Engine {
    /// The user the host knows as `external_id`, created with the display name `name` on
    /// first call and renamed to it on later ones; see [`crate::users`]. The user has no
    /// password and never logs in through email and password.
    pub async fn upsert_external_user(&self, external_id: &str, name: &str) -> Result<User> {
        validate_external_id(external_id)?;
        let name = validate::display_name(name)?;
        self.upsert_external(external_id, name).await
    }

    /// The user the host knows as `external_id`; `NotFound` when there is none yet.
    pub async fn external_user(&self, external_id: &str) -> Result<User> {
        self.inner
            .store
            .external_user(external_id)
            .await?
            .ok_or_else(|| Error::NotFound("user not found".into()))
    }

    /// The system user server-side sends speak as by default: a host-owned user under the
    /// reserved external id [`SYSTEM_EXTERNAL_ID`], created on first use.
    pub async fn system_user(&self) -> Result<User> {
        self.inner
            .system_user
            .get_or_try_init(|| self.upsert_external(SYSTEM_EXTERNAL_ID, SYSTEM_NAME.into()))
            .await
            .cloned()
    }

    async fn upsert_external(&self, external_id: &str, name: String) -> Result<User> {
        let id = UserId::generate();
        let user = NewUser {
            id,
            email: external_email(id),
            name,
            password_hash: ERASED_PASSWORD_HASH.into(),
            created_at: now(),
        };
        self.inner
            .store
            .upsert_external_user(external_id, user)
            .await
    }

    /// Creates many accounts in one store call, for operators preparing a population (the
    /// load generator, imports). Each entry is (email, name, password hash).
    pub async fn import_users(&self, users: Vec<(String, String, String)>) -> Result<Vec<User>> {
        let mut prepared = Vec::with_capacity(users.len());
        for (email, name, password_hash) in users {
            prepared.push(NewUser {
                id: UserId::generate(),
                email: validate::normalize_email(&email)?,
                name: validate::display_name(&name)?,
                password_hash,
                created_at: now(),
            });
        }
        self.inner.store.create_users(prepared).await
    }

    /// A token for `user`, as login would give; for operators' tools.
    pub async fn issue_token(&self, user: UserId) -> Result<String> {
        self.new_token(user).await
    }

    /// One user by id.
    pub async fn user(&self, id: UserId) -> Result<User> {
        self.inner
            .store
            .user(id)
            .await?
            .ok_or_else(|| Error::NotFound("user not found".into()))
    }

    /// The user with this (not yet normalized) email, for operators' tools.
    pub async fn user_by_email(&self, email: &str) -> Result<User> {
        let email = validate::normalize_email(email)?;
        self.inner
            .store
            .credentials(&email)
            .await?
            .map(|credentials| credentials.user)
            .ok_or_else(|| Error::NotFound("user not found".into()))
    }

    /// Other users, optionally filtered by a search text, each with whether they are online.
    pub async fn list_users(
        &self,
        caller: UserId,
        query: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(User, bool)>> {
        let query = query.map(str::trim).filter(|query| !query.is_empty());
        let users = self
            .inner
            .store
            .search_users(query, caller, limit.clamp(1, 1000))
            .await?;
        let ids: Vec<UserId> = users.iter().map(|user| user.id).collect();
        let online = self.online(&ids).await;
        Ok(users.into_iter().zip(online).collect())
    }
}

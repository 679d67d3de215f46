//! Registration, login, token checks and user lookups.

use crate::auth::{hash_password, verify_password};
use crate::error::{Error, Result};
use crate::id::UserId;
use crate::model::{NewUser, User, now};

use super::{Engine, validate};

/// A signed-in user and the token that proves it.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who signed in.
    pub user: User,
    /// Bearer token for later requests and sockets.
    pub token: String,
}

/// The message for every failed login, so it does not reveal which emails exist.
const BAD_LOGIN: &str = "incorrect email or password";

impl Engine {
    /// Creates an account and signs it in.
    pub async fn register(&self, email: &str, password: &str, name: &str) -> Result<Session> {
        let email = validate::normalize_email(email)?;
        let name = validate::display_name(name)?;
        validate::password(password)?;
        let password_hash = hash_blocking(password.to_owned()).await?;
        let user = self
            .inner
            .store
            .create_user(NewUser {
                id: UserId::generate(),
                email,
                name,
                password_hash,
                created_at: now(),
            })
            .await?;
        self.session(user)
    }

    /// Checks credentials and signs the user in. Unknown email and wrong password fail alike.
    pub async fn login(&self, email: &str, password: &str) -> Result<Session> {
        let unauthenticated = || Error::Unauthenticated(BAD_LOGIN.into());
        let email = validate::normalize_email(email).map_err(|_| unauthenticated())?;
        let Some(credentials) = self.inner.store.credentials(&email).await? else {
            return Err(unauthenticated());
        };
        let password = password.to_owned();
        let hash = credentials.password_hash;
        let matches = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(|err| Error::unavailable("password check", err))?;
        if !matches {
            return Err(unauthenticated());
        }
        self.session(credentials.user)
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
    pub fn issue_token(&self, user: UserId) -> Result<String> {
        self.inner.tokens.issue(user)
    }

    /// The user a token names, if it is valid and the user exists.
    pub async fn authenticate(&self, token: &str) -> Result<User> {
        let id = self.inner.tokens.verify(token)?;
        self.inner
            .store
            .user(id)
            .await?
            .ok_or_else(|| Error::Unauthenticated("unknown user".into()))
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

    fn session(&self, user: User) -> Result<Session> {
        let token = self.inner.tokens.issue(user.id)?;
        Ok(Session { user, token })
    }
}

/// Hashes a password for storage (also used by operators' import tools).
pub async fn hash_blocking(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|err| Error::unavailable("password hashing", err))?
}

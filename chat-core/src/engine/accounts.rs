//! Registration, login and user lookups.
//!
//! Passwords are hashed and checked on the engine's bounded [`PasswordPool`]
//! (crate::auth::PasswordPool), after the attempt limits of [`attempts`](super::attempts)
//! let the request through; a login for an unknown email is checked against a dummy hash, so
//! it costs what a wrong password costs.

use std::net::IpAddr;

use crate::error::{Error, Result};
use crate::id::UserId;
use crate::model::{AccountStatus, NewUser, User, now};

use super::attempts::Attempt;
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
        self.register_from(None, email, password, name).await
    }

    /// [`Engine::register`] for a caller at `client`, counted against the registration limit
    /// of its address when known.
    pub async fn register_from(
        &self,
        client: Option<IpAddr>,
        email: &str,
        password: &str,
        name: &str,
    ) -> Result<Session> {
        if let Some(address) = client {
            self.count_attempt(Attempt::RegisterFrom(address)).await?;
        }
        let email = validate::normalize_email(email)?;
        let name = validate::display_name(name)?;
        validate::password(password)?;
        let password_hash = self.inner.passwords.hash(password.to_owned()).await?;
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
        self.session(user).await
    }

    /// Checks credentials and signs the user in. Unknown email and wrong password fail alike,
    /// in message and in the work done.
    pub async fn login(&self, email: &str, password: &str) -> Result<Session> {
        self.login_from(None, email, password).await
    }

    /// [`Engine::login`] for a caller at `client`, counted against the login limit of its
    /// address when known (and always against the account's).
    pub async fn login_from(
        &self,
        client: Option<IpAddr>,
        email: &str,
        password: &str,
    ) -> Result<Session> {
        if let Some(address) = client {
            self.count_attempt(Attempt::LoginFrom(address)).await?;
        }
        let unauthenticated = || Error::Unauthenticated(BAD_LOGIN.into());
        let email = validate::normalize_email(email).map_err(|_| unauthenticated())?;
        self.count_attempt(Attempt::LoginAs(&email)).await?;
        let credentials = self.inner.store.credentials(&email).await?;
        let (user, hash, status) = match credentials {
            Some(credentials) => (
                Some(credentials.user),
                Some(credentials.password_hash),
                credentials.status,
            ),
            None => (None, None, AccountStatus::Active),
        };
        let matches = self
            .inner
            .passwords
            .verify(password.to_owned(), hash)
            .await?;
        match user {
            // Only the right password learns that the account is disabled.
            Some(_) if matches && status != AccountStatus::Active => {
                Err(Error::Forbidden("this account is disabled".into()))
            }
            Some(user) if matches => self.session(user).await,
            _ => Err(unauthenticated()),
        }
    }

    /// How many password checks this engine ran (real and against the dummy hash).
    pub fn password_checks(&self) -> u64 {
        self.inner.passwords.verifications()
    }

    /// Hashes a password on the engine's bounded pool, for operators' import tools.
    pub async fn hash_password(&self, password: String) -> Result<String> {
        self.inner.passwords.hash(password).await
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

    async fn session(&self, user: User) -> Result<Session> {
        let token = self.new_token(user.id).await?;
        Ok(Session { user, token })
    }
}

/// Hashes a password with fresh memory on a blocking thread, for tools without an engine.
pub async fn hash_blocking(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || crate::auth::hash_password(&password))
        .await
        .map_err(|err| Error::unavailable("password hashing", err))?
}

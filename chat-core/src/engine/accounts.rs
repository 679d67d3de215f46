//! Registration and login with email and password (the `accounts` feature).
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
use super::{Engine, Session, validate};

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

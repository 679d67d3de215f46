//! Revocation: logout, password changes and operators end sessions before their tokens
//! expire, on every node.
//!
//! A token carries its session id and the user's token generation at issue. The store keeps
//! each user's current generation and the sessions revoked one by one; each node caches that
//! per user, so checking a token is a memory lookup after the first. Whoever revokes writes
//! the store first, then tells every node over the bus ([`NODE_NOTICES`]); a node that
//! hears it forgets the user's cached state and closes the sockets whose sessions are no
//! longer valid. After a bus outage (notices may be lost) a node forgets everything cached,
//! and any cached state is read again after [`CACHE_TTL`], which bounds how long a node
//! without a shared bus (an operator's `chat user revoke` next to a SQLite server) trusts it:
//! every [`CACHE_TTL`] the node also rereads the state of each user with a local socket
//! ([`recheck_loop`]) and closes the sockets of sessions revoked meanwhile.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::auth::TokenClaims;
use crate::bus::NODE_NOTICES;
use crate::error::{Error, Result};
use crate::event::ServerEvent;
use crate::id::{ConnId, SessionId, UserId};
use crate::model::{Revocations, User};

use super::{Connection, Engine};

/// A signed-in user and the token that proves it.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who signed in.
    pub user: User,
    /// Bearer token for later requests and sockets.
    pub token: String,
}

/// Users whose revocation state a node caches before it starts over.
const MAX_CACHED_USERS: usize = 100_000;

/// How long a node trusts cached revocation state that no notice has invalidated.
const CACHE_TTL: Duration = Duration::from_secs(30);

/// Rechecks every local socket's session each [`CACHE_TTL`], so revocations that no notice
/// announced (an operator tool without the bus) still close sockets; ends with the engine.
pub(super) async fn recheck_loop(inner: std::sync::Weak<super::Inner>) {
    let mut ticker = tokio::time::interval(CACHE_TTL);
    ticker.tick().await;
    loop {
        ticker.tick().await;
        let Some(inner) = inner.upgrade() else { return };
        Engine { inner }.revocation_heard(None).await;
    }
}

/// One user's revocation state as cached.
#[derive(Debug)]
struct Known {
    generation: u64,
    revoked: HashSet<SessionId>,
    loaded: Instant,
}

impl From<Revocations> for Known {
    fn from(revocations: Revocations) -> Self {
        Known {
            generation: revocations.generation,
            revoked: revocations.sessions.into_iter().collect(),
            loaded: Instant::now(),
        }
    }
}

impl Known {
    fn revokes(&self, claims: &TokenClaims) -> bool {
        claims.generation < self.generation
            || claims
                .session
                .is_some_and(|session| self.revoked.contains(&session))
    }
}

/// This node's cache of revocation state and the sessions of its sockets.
#[derive(Debug, Default)]
pub(super) struct SessionCache {
    known: Mutex<HashMap<UserId, Arc<Known>>>,
    /// Bumped by every invalidation, so a store read that raced one is not cached.
    invalidations: AtomicU64,
    sockets: Mutex<HashMap<UserId, HashMap<ConnId, TokenClaims>>>,
}

fn locked<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl SessionCache {
    fn invalidate(&self, user: Option<UserId>) {
        self.invalidations.fetch_add(1, Ordering::AcqRel);
        let mut known = locked(&self.known);
        match user {
            Some(user) => {
                known.remove(&user);
            }
            None => known.clear(),
        }
    }

    /// Records a socket's session; forgotten when the socket closes ([`Engine::forget_socket`]).
    fn add_socket(&self, conn: ConnId, claims: TokenClaims) {
        locked(&self.sockets)
            .entry(claims.user)
            .or_default()
            .insert(conn, claims);
    }

    fn sockets_of(&self, user: UserId) -> Vec<(ConnId, TokenClaims)> {
        locked(&self.sockets)
            .get(&user)
            .map(|sockets| {
                sockets
                    .iter()
                    .map(|(conn, claims)| (*conn, *claims))
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Engine {
    /// The user a token names, if it is valid, not revoked, and the user exists.
    pub async fn authenticate(&self, token: &str) -> Result<User> {
        self.authenticate_claims(token).await.map(|(user, _)| user)
    }

    /// Like [`Engine::authenticate`], with what the token says, for
    /// [`Engine::connect_session`] and logout.
    pub async fn authenticate_claims(&self, token: &str) -> Result<(User, TokenClaims)> {
        let claims = self.inner.tokens.verify(token)?;
        if self.is_revoked(&claims).await? {
            return Err(Error::Unauthenticated("session revoked".into()));
        }
        let user = self
            .inner
            .store
            .user(claims.user)
            .await?
            .ok_or_else(|| Error::Unauthenticated("unknown user".into()))?;
        Ok((user, claims))
    }

    /// Opens a socket for a session, so that revoking the session closes the socket.
    pub async fn connect_session(&self, user: User, claims: TokenClaims) -> Result<Connection> {
        let connection = self.connect(user).await?;
        self.inner.sessions.add_socket(connection.conn(), claims);
        // A revocation between the token check and the line above found no socket to close.
        if self.is_revoked(&claims).await? {
            return Err(Error::Unauthenticated("session revoked".into()));
        }
        Ok(connection)
    }

    /// Ends the session of `token` on every node; an invalid or already revoked token is
    /// left as it is. A token from before sessions existed ends all of its user's sessions.
    pub async fn logout(&self, token: &str) -> Result<()> {
        let Ok((_, claims)) = self.authenticate_claims(token).await else {
            return Ok(());
        };
        match claims.session {
            Some(session) => {
                self.inner
                    .store
                    .revoke_session(claims.user, session, claims.expires_at)
                    .await?;
            }
            None => {
                self.inner
                    .store
                    .advance_generation(claims.user, None)
                    .await?;
            }
        }
        self.sessions_revoked(claims.user).await;
        Ok(())
    }

    /// Replaces the password of `user` after checking the current one, ends every session of
    /// the user on every node, and signs this caller in again.
    #[cfg(feature = "accounts")]
    pub async fn change_password(
        &self,
        user: &User,
        current: &str,
        new_password: &str,
    ) -> Result<Session> {
        super::validate::password(new_password)?;
        let stored = self.inner.store.credentials(&user.email).await?;
        let matches = self
            .inner
            .passwords
            .verify(
                current.to_owned(),
                stored.map(|credentials| credentials.password_hash),
            )
            .await?;
        if !matches {
            return Err(Error::Forbidden("current password is incorrect".into()));
        }
        let hash = self.inner.passwords.hash(new_password.to_owned()).await?;
        self.inner
            .store
            .advance_generation(user.id, Some(hash))
            .await?;
        self.sessions_revoked(user.id).await;
        // Read back, not the returned generation: see `UserStore::advance_generation`.
        let token = self.new_token(user.id).await?;
        Ok(Session {
            user: user.clone(),
            token,
        })
    }

    /// Ends every session of `user` on every node, for operators.
    pub async fn revoke_sessions(&self, user: UserId) -> Result<()> {
        self.inner.store.advance_generation(user, None).await?;
        self.sessions_revoked(user).await;
        Ok(())
    }

    /// A token for a new session of `user` under the user's current generation.
    pub(super) async fn new_token(&self, user: UserId) -> Result<String> {
        let generation = self.known(user).await?.generation;
        self.inner.tokens.issue(user, generation)
    }

    async fn is_revoked(&self, claims: &TokenClaims) -> Result<bool> {
        Ok(self.known(claims.user).await?.revokes(claims))
    }

    async fn known(&self, user: UserId) -> Result<Arc<Known>> {
        let cache = &self.inner.sessions;
        if let Some(known) = locked(&cache.known)
            .get(&user)
            .filter(|known| known.loaded.elapsed() < CACHE_TTL)
        {
            return Ok(known.clone());
        }
        let epoch = cache.invalidations.load(Ordering::Acquire);
        let known = Arc::new(Known::from(self.inner.store.revocations(user).await?));
        let mut cached = locked(&cache.known);
        if cache.invalidations.load(Ordering::Acquire) == epoch {
            if cached.len() >= MAX_CACHED_USERS {
                cached.clear();
            }
            cached.insert(user, known.clone());
        }
        Ok(known)
    }

    /// After a revocation of `user` was stored here: act on it locally, then tell the other
    /// nodes.
    async fn sessions_revoked(&self, user: UserId) {
        self.inner.relay.publish(
            vec![NODE_NOTICES],
            &ServerEvent::SessionsRevoked { user_id: user },
        );
        self.revocation_heard(Some(user)).await;
    }

    /// Forgets cached revocation state (of `user`, or of everyone after a bus outage) and
    /// closes the local sockets whose sessions are now revoked.
    pub(super) async fn revocation_heard(&self, user: Option<UserId>) {
        let cache = &self.inner.sessions;
        cache.invalidate(user);
        let users: Vec<UserId> = match user {
            Some(user) => vec![user],
            None => locked(&cache.sockets).keys().copied().collect(),
        };
        for user in users {
            for (conn, claims) in cache.sockets_of(user) {
                match self.is_revoked(&claims).await {
                    Ok(true) => self.inner.hub.revoke(user, conn),
                    Ok(false) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot read revocations; socket kept");
                    }
                }
            }
        }
    }

    /// Forgets a closed socket's session.
    pub(super) fn forget_socket(&self, user: UserId, conn: ConnId) {
        let mut sockets = locked(&self.inner.sessions.sockets);
        if let Some(of_user) = sockets.get_mut(&user) {
            of_user.remove(&conn);
            if of_user.is_empty() {
                sockets.remove(&user);
            }
        }
    }
}

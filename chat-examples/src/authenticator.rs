//! How chat learns who calls: from the host's own session cookie, not from chat's tokens.

use std::sync::Arc;

use async_trait::async_trait;
use chat_core::{Engine, Error, Result};
use chat_http::{AuthRequest, Authenticator, Identity};

use crate::accounts::Accounts;

/// The host's session cookie.
pub const SESSION_COOKIE: &str = "host_session";

/// Accepts a request carrying a live host session; the chat user is the one the host mapped
/// its user to at login (`upsert_external_user`), and the socket closes when the session ends.
pub struct HostAuthenticator {
    engine: Engine,
    accounts: Arc<Accounts>,
}

impl HostAuthenticator {
    /// Checks sessions against `accounts`, finding chat users in `engine`.
    pub fn new(engine: Engine, accounts: Arc<Accounts>) -> Self {
        HostAuthenticator { engine, accounts }
    }
}

#[async_trait]
impl Authenticator for HostAuthenticator {
    async fn authenticate(&self, request: &AuthRequest<'_>) -> Result<Identity> {
        let session = request
            .cookie(SESSION_COOKIE)
            .and_then(|id| self.accounts.session(&id))
            .ok_or_else(|| Error::Unauthenticated("sign in first".into()))?;
        // The browser sends the cookie by itself, so a page of another origin could open a
        // socket or post a message in the user's name: only our own pages may.
        if !request.origin_trusted() {
            return Err(Error::Forbidden("origin not allowed".into()));
        }
        let user =
            self.engine
                .external_user(&session.username)
                .await
                .map_err(|error| match error {
                    Error::NotFound(_) => Error::Unauthenticated("sign in first".into()),
                    other => other,
                })?;
        Ok(Identity::of(user).expires_at(session.expires_at))
    }
}

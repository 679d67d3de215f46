//! The host app's own users and sessions, which know nothing of chat: a tiny in-memory table
//! standing in for whatever an app already has (a database, an identity provider).
//!
//! Passwords are compared in plain text because this is an example; a real app hashes them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};

/// One of the host's users.
#[derive(Debug, Clone)]
pub struct Account {
    password: String,
    /// The name shown in chat.
    pub display_name: String,
}

/// A signed-in session: whose, and until when.
#[derive(Debug, Clone)]
pub struct HostSession {
    /// The host's id of the user (its username), which chat knows as the external id.
    pub username: String,
    /// The account's display name.
    pub display_name: String,
    /// When the session ends; chat closes the user's sockets then.
    pub expires_at: DateTime<Utc>,
}

/// The host's users and their sessions.
#[derive(Debug)]
pub struct Accounts {
    users: HashMap<String, Account>,
    sessions: Mutex<HashMap<String, HostSession>>,
    session_lifetime: Duration,
}

impl Accounts {
    /// No users yet; sessions last `session_lifetime`.
    pub fn new(session_lifetime: Duration) -> Self {
        Accounts {
            users: HashMap::new(),
            sessions: Mutex::new(HashMap::new()),
            session_lifetime,
        }
    }

    /// Adds a user.
    pub fn with_user(mut self, username: &str, password: &str, display_name: &str) -> Self {
        let account = Account {
            password: password.to_owned(),
            display_name: display_name.to_owned(),
        };
        self.users.insert(username.to_owned(), account);
        self
    }

    /// Signs a user in: the new session's id, or `None` for a wrong name or password.
    pub fn login(&self, username: &str, password: &str) -> Option<(String, HostSession)> {
        let account = self
            .users
            .get(username)
            .filter(|account| account.password == password)?;
        let id = format!("{:032x}", rand::random::<u128>());
        let lifetime = chrono::Duration::from_std(self.session_lifetime).ok()?;
        let session = HostSession {
            username: username.to_owned(),
            display_name: account.display_name.clone(),
            expires_at: Utc::now() + lifetime,
        };
        self.sessions_mut().insert(id.clone(), session.clone());
        Some((id, session))
    }

    /// The live session with this id.
    pub fn session(&self, id: &str) -> Option<HostSession> {
        let mut sessions = self.sessions_mut();
        let session = sessions.get(id)?.clone();
        if session.expires_at <= Utc::now() {
            sessions.remove(id);
            return None;
        }
        Some(session)
    }

    /// Ends a session.
    pub fn logout(&self, id: &str) {
        self.sessions_mut().remove(id);
    }

    fn sessions_mut(&self) -> std::sync::MutexGuard<'_, HashMap<String, HostSession>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

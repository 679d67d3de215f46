//! Presence within one process: exact, and never expires (the process is the only node).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use async_trait::async_trait;

use crate::error::Result;
use crate::id::{ConnId, UserId};
use crate::presence::Presence;

/// Open sockets per user, in a map. Share one instance between in-process nodes.
#[derive(Default)]
pub struct MemoryPresence {
    sockets: Mutex<HashMap<UserId, HashSet<ConnId>>>,
}

impl MemoryPresence {
    /// Nobody online.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, HashSet<ConnId>>> {
        crate::sync::lock(&self.sockets)
    }
}

#[async_trait]
impl Presence for MemoryPresence {
    async fn connect(&self, user: UserId, conn: ConnId) -> Result<usize> {
        let mut sockets = self.lock();
        let set = sockets.entry(user).or_default();
        set.insert(conn);
        Ok(set.len())
    }

    async fn disconnect(&self, user: UserId, conn: ConnId) -> Result<usize> {
        let mut sockets = self.lock();
        let Some(set) = sockets.get_mut(&user) else {
            return Ok(0);
        };
        set.remove(&conn);
        let left = set.len();
        if left == 0 {
            sockets.remove(&user);
        }
        Ok(left)
    }

    async fn online(&self, users: &[UserId]) -> Result<Vec<bool>> {
        let sockets = self.lock();
        Ok(users
            .iter()
            .map(|user| sockets.contains_key(user))
            .collect())
    }

    async fn heartbeat(&self, _sockets: &[(UserId, ConnId)]) -> Result<()> {
        Ok(())
    }

    async fn expired(&self) -> Result<Vec<UserId>> {
        Ok(Vec::new())
    }
}

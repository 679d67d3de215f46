//! Presence shared by every node: per-user socket sets with expiry, changed by Lua scripts so
//! counts are exact under concurrency, and an expiry index from which dead nodes' users are
//! claimed, each by exactly one node.

use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use chat_core::presence::Presence;
use chat_core::{ConnId, Result, UserId};
use redis::{Pipeline, Script};

use crate::keys::{Keys, PRESENCE_SHARDS, shard};
use crate::requests::Requests;

static CONNECT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/presence_connect.lua")));
static DISCONNECT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/presence_disconnect.lua")));
static COUNT: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/presence_count.lua")));
static DUE: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/presence_due.lua")));
static CLAIM: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("scripts/presence_claim.lua")));

/// Calls per pipeline, so one round trip stays well inside the command timeout even for a
/// node with many sockets.
const BATCH: usize = 1000;

/// Presence in Redis; see the crate docs for the key layout.
#[derive(Clone)]
pub struct RedisPresence {
    requests: Requests,
    keys: Keys,
    ttl_ms: u64,
}

impl RedisPresence {
    pub(crate) fn new(requests: Requests, keys: Keys, ttl: Duration) -> Self {
        RedisPresence {
            requests,
            keys,
            ttl_ms: ttl.as_millis().max(1) as u64,
        }
    }

    /// A pipeline that first loads `script`: pipelined calls cannot load it on demand, and
    /// Redis forgets scripts when it restarts.
    fn pipeline_with(script: &Script) -> Pipeline {
        let mut pipe = redis::pipe();
        pipe.load_script(script).ignore();
        pipe
    }
}

#[async_trait]
impl Presence for RedisPresence {
    async fn connect(&self, user: UserId, conn: ConnId) -> Result<usize> {
        let mut call = CONNECT.prepare_invoke();
        call.key(self.keys.sockets(user))
            .key(self.keys.expiry_index(shard(user)))
            .arg(conn.to_string())
            .arg(self.ttl_ms)
            .arg(user.to_string());
        Ok(self.requests.script(&call).await?)
    }

    async fn disconnect(&self, user: UserId, conn: ConnId) -> Result<usize> {
        let mut call = DISCONNECT.prepare_invoke();
        call.key(self.keys.sockets(user))
            .key(self.keys.expiry_index(shard(user)))
            .arg(conn.to_string())
            .arg(user.to_string());
        Ok(self.requests.script(&call).await?)
    }

    async fn online(&self, users: &[UserId]) -> Result<Vec<bool>> {
        let mut online = Vec::with_capacity(users.len());
        for chunk in users.chunks(BATCH) {
            let mut pipe = Self::pipeline_with(&COUNT);
            for &user in chunk {
                let mut call = COUNT.prepare_invoke();
                call.key(self.keys.sockets(user));
                pipe.invoke_script(&call);
            }
            let counts: Vec<u64> = self.requests.pipeline(&pipe).await?;
            online.extend(counts.into_iter().map(|count| count > 0));
        }
        Ok(online)
    }

    async fn heartbeat(&self, sockets: &[(UserId, ConnId)]) -> Result<()> {
        for chunk in sockets.chunks(BATCH) {
            let mut pipe = Self::pipeline_with(&CONNECT);
            for &(user, conn) in chunk {
                let mut call = CONNECT.prepare_invoke();
                call.key(self.keys.sockets(user))
                    .key(self.keys.expiry_index(shard(user)))
                    .arg(conn.to_string())
                    .arg(self.ttl_ms)
                    .arg(user.to_string());
                pipe.invoke_script(&call).ignore();
            }
            self.requests.pipeline::<()>(&pipe).await?;
        }
        Ok(())
    }

    async fn expired(&self) -> Result<Vec<UserId>> {
        let mut pipe = Self::pipeline_with(&DUE);
        for shard in 0..PRESENCE_SHARDS {
            let mut call = DUE.prepare_invoke();
            call.key(self.keys.expiry_index(shard)).arg(BATCH);
            pipe.invoke_script(&call);
        }
        let due: Vec<Vec<String>> = self.requests.pipeline(&pipe).await?;
        let candidates: Vec<UserId> = due
            .into_iter()
            .flatten()
            .filter_map(|user| user.parse().ok())
            .collect();
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = Self::pipeline_with(&CLAIM);
        for &user in &candidates {
            let mut call = CLAIM.prepare_invoke();
            call.key(self.keys.sockets(user))
                .key(self.keys.expiry_index(shard(user)))
                .arg(user.to_string());
            pipe.invoke_script(&call);
        }
        let claimed: Vec<bool> = self.requests.pipeline(&pipe).await?;
        Ok(candidates
            .into_iter()
            .zip(claimed)
            .filter_map(|(user, won)| won.then_some(user))
            .collect())
    }
}

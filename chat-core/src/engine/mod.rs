//! The engine: composes a store, a blob store, a bus, presence and a rate limiter around the
//! local hub, and offers the operations every transport calls (register, login, rooms,
//! history, send, files, connect).

#[cfg(feature = "accounts")]
mod accounts;
mod admin;
mod admission;
mod announce;
mod attempts;
mod background;
mod catchup;
mod config;
mod connection;
mod edits;
mod fanout;
mod files;
mod hooks;
mod interest;
mod messaging;
mod queue_probe;
mod readiness;
mod reads;
mod relay;
mod rooms;
mod search;
mod sends_queued;
mod server;
mod sessions;
mod typing;
mod users;
pub mod validate;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

#[cfg(feature = "accounts")]
use crate::auth::PasswordPool;
use crate::auth::{TokenKeys, TokenSigner};
use crate::blob::BlobStore;
use crate::bus::Bus;
use crate::bus::NODE_NOTICES;
use crate::error::{Error, Result};
use crate::hooks::Hooks;
use crate::hub::{Hub, Interest};
use crate::limits::RateLimiter;
use crate::memory::{MemoryBlobStore, MemoryBus, MemoryPresence, MemoryRateLimiter};
use crate::presence::Presence;
use crate::store::Store;

#[cfg(feature = "accounts")]
pub use accounts::hash_blocking as hash_password_blocking;
pub use catchup::{CHANGE_OVERLAP, Changes};
pub use config::{AttemptLimits, EngineConfig};
pub use connection::Connection;
pub use edits::MAX_DISTINCT_REACTIONS;
pub use readiness::Readiness;
pub use reads::RECEIPT_ROOM_LIMIT;
pub use rooms::RoomSummary;
pub use server::ServerSender;
pub use sessions::Session;
pub use typing::TYPING_INTERVAL;

/// The most a shutdown spends taking its users out of presence.
const SHUTDOWN_PRESENCE_WAIT: Duration = Duration::from_secs(2);

/// The chat engine. Cheap to clone; all clones share one state.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    thumbnails: files::Thumbnailer,
    bus: Arc<dyn Bus>,
    /// Whether there are other nodes to relay to (a bus was given).
    relays: bool,
    presence: Arc<dyn Presence>,
    limiter: Arc<dyn RateLimiter>,
    fallback_limiter: MemoryRateLimiter,
    hub: Hub,
    interest: tokio::sync::mpsc::UnboundedSender<Interest>,
    tokens: TokenSigner,
    #[cfg(feature = "accounts")]
    passwords: PasswordPool,
    sessions: sessions::SessionCache,
    config: EngineConfig,
    members: rooms::MembersCache,
    announcer: announce::Announcer,
    relay: relay::Relay,
    write_probe: readiness::WriteProbe,
    typing: typing::TypingThrottle,
    hooks: hooks::HookRunner,
    /// The user server-side sends speak as by default, created on first use.
    system_user: tokio::sync::OnceCell<crate::model::User>,
    admission: Arc<admission::SendAdmission>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("node", &self.inner.bus.node())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// Assembles an [`Engine`]; everything but the store and the token secret has an in-process
/// default.
pub struct EngineBuilder {
    store: Arc<dyn Store>,
    blobs: Option<Arc<dyn BlobStore>>,
    keys: TokenKeys,
    bus: Option<Arc<dyn Bus>>,
    presence: Option<Arc<dyn Presence>>,
    limiter: Option<Arc<dyn RateLimiter>>,
    hooks: Option<Arc<dyn Hooks>>,
    config: EngineConfig,
}

impl EngineBuilder {
    /// Relays to other nodes through `bus` (default: none, a single node).
    pub fn bus(mut self, bus: Arc<dyn Bus>) -> Self {
        self.bus = Some(bus);
        self
    }

    /// Keeps the bytes of uploaded files in `blobs` (default: in process memory).
    pub fn blobs(mut self, blobs: Arc<dyn BlobStore>) -> Self {
        self.blobs = Some(blobs);
        self
    }

    /// Tracks presence in `presence` (default: in process).
    pub fn presence(mut self, presence: Arc<dyn Presence>) -> Self {
        self.presence = Some(presence);
        self
    }

    /// Enforces send quotas with `limiter` (default: in process, from the config's quota).
    pub fn rate_limiter(mut self, limiter: Arc<dyn RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Calls the host's `hooks` (default: none) under the config's hook timeout and
    /// concurrency bound; see [`crate::hooks`].
    pub fn hooks(mut self, hooks: Arc<dyn Hooks>) -> Self {
        self.hooks = Some(hooks);
        self
    }

    /// Replaces the default limits and timings.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }

    /// Builds the engine and starts its background tasks; needs a running tokio runtime.
    pub fn build(self) -> Engine {
        let config = self.config;
        let relays = self.bus.is_some();
        let bus = self
            .bus
            .unwrap_or_else(|| Arc::new(MemoryBus::standalone()));
        let (interest, wanted) = tokio::sync::mpsc::unbounded_channel();
        let _unreachable_while_held = interest.send(Interest::Watch(NODE_NOTICES));
        let relay = relay::Relay::start(bus.clone());
        relay.spawn_cancellable(interest::apply(bus.clone(), wanted));
        let inner = Arc::new(Inner {
            store: self.store,
            blobs: self
                .blobs
                .unwrap_or_else(|| Arc::new(MemoryBlobStore::new())),
            thumbnails: files::Thumbnailer::default(),
            presence: self
                .presence
                .unwrap_or_else(|| Arc::new(MemoryPresence::new())),
            limiter: self
                .limiter
                .unwrap_or_else(|| Arc::new(MemoryRateLimiter::new(config.quota))),
            fallback_limiter: MemoryRateLimiter::new(config.quota),
            hub: Hub::with_interest(config.socket_queue, interest.clone()),
            interest,
            tokens: TokenSigner::new(self.keys, config.token_lifetime),
            #[cfg(feature = "accounts")]
            passwords: PasswordPool::new(config.password_pool),
            sessions: sessions::SessionCache::default(),
            members: rooms::MembersCache::default(),
            announcer: announce::Announcer::default(),
            relay,
            write_probe: readiness::WriteProbe::default(),
            typing: typing::TypingThrottle::default(),
            hooks: hooks::HookRunner::new(self.hooks, config.hook_timeout, config.hook_concurrency),
            system_user: tokio::sync::OnceCell::new(),
            admission: Arc::new(admission::SendAdmission::new(
                config.max_sends_in_flight,
                config.send_wait_target,
                config.scheduling_delay_target,
                config.ready_queue_limit,
                config.ready_queue_wait_target,
            )),
            bus,
            relays,
            config,
        });
        let engine = Engine { inner };
        background::start(&engine);
        engine
    }
}

impl Engine {
    /// Starts assembling an engine over `store`, signing tokens with `keys`.
    pub fn builder(store: Arc<dyn Store>, keys: TokenKeys) -> EngineBuilder {
        EngineBuilder {
            store,
            keys,
            blobs: None,
            bus: None,
            presence: None,
            limiter: None,
            hooks: None,
            config: EngineConfig::default(),
        }
    }

    /// The limits in force.
    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    /// The local fanout hub, for transports and benchmarks.
    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// How long issued tokens live, so transports can give cookies the same age.
    pub fn token_lifetime(&self) -> Duration {
        self.inner.tokens.lifetime()
    }

    /// Stops the engine: takes this node's users out of presence (telling their contacts),
    /// closes every socket, stops the background tasks after the publish queue has drained to
    /// the bus, waits for every task until `deadline` has passed, then flushes the store.
    ///
    /// Tasks still running at the deadline are left to the runtime and logged; the store is
    /// flushed either way.
    pub async fn shutdown(&self, deadline: Duration) -> Result<()> {
        let until = Instant::now() + deadline;
        let leaving = async {
            self.leave_presence().await;
            self.flush_presence_windows().await;
        };
        if tokio::time::timeout(SHUTDOWN_PRESENCE_WAIT.min(deadline), leaving)
            .await
            .is_err()
        {
            tracing::warn!("presence cleanup at shutdown timed out; the TTL will expire it");
        }
        self.inner.hub.close_all();
        if !self.inner.relay.stop(until).await {
            tracing::warn!(
                ?deadline,
                "engine tasks still running at the shutdown deadline"
            );
        }
        self.inner.store.flush().await
    }

    /// Runs `work` on a tracked task of its own and waits for its result: for work that,
    /// once the store has acted, must go on to announce it whatever the caller does meanwhile
    /// (stops polling, or goes away as a closed socket or a cancelled request would).
    async fn carried<T, Fut>(&self, work: impl FnOnce(Engine) -> Fut) -> Result<T>
    where
        T: Send + 'static,
        Fut: Future<Output = Result<T>> + Send + 'static,
    {
        match self.inner.relay.carry(work(self.clone())).await {
            Ok(result) => result,
            Err(err) if err.is_panic() => std::panic::resume_unwind(err.into_panic()),
            Err(err) => Err(Error::unavailable("the engine", err)),
        }
    }

    /// Runs a call to presence, limits or the bus with the sidecar timeout.
    async fn sidecar<T>(&self, what: &str, call: impl Future<Output = Result<T>>) -> Result<T> {
        match tokio::time::timeout(self.inner.config.sidecar_timeout, call).await {
            Ok(result) => result,
            Err(elapsed) => Err(Error::unavailable(what, elapsed)),
        }
    }
}

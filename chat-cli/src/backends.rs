//! Assembling the engine over the configured backends: the store and blob store the flags name
//! (see [`chat_cli::open_backends`]) and, when a URL is given, the Redis sidecars.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chat_cache_redis::{RedisOptions, RedisSidecars};
use chat_cli::{StoreArgs, open_backends, secret};
use chat_core::store::Store;
use chat_core::{Engine, EngineBuilder, EngineConfig, TokenKeys};

/// Redis settings of `chat serve`.
pub struct RedisArgs {
    /// `redis://…`.
    pub url: String,
    /// Key and channel prefix.
    pub prefix: String,
    /// Presence expiry of a dead node's sockets.
    pub presence_ttl: Duration,
}

/// An engine over the configured store, signing with the configured secret, and sharing
/// presence, limits and fanout through Redis when `redis` is given.
pub async fn engine(
    args: &StoreArgs,
    config: EngineConfig,
    redis: Option<RedisArgs>,
) -> anyhow::Result<Engine> {
    let (store, blobs) = open_backends(args).await?;
    let builder = builder(store, args)?.blobs(blobs);
    finish(builder, config, redis).await
}

/// [`engine`] over a store already open, for tools that also read it directly; their engine
/// keeps no file bytes (uploads go to memory).
pub async fn engine_on(
    store: Arc<dyn Store>,
    args: &StoreArgs,
    config: EngineConfig,
    redis: Option<RedisArgs>,
) -> anyhow::Result<Engine> {
    finish(builder(store, args)?, config, redis).await
}

/// An engine builder over `store`, signing with the configured secret.
fn builder(store: Arc<dyn Store>, args: &StoreArgs) -> anyhow::Result<EngineBuilder> {
    let secret = secret::load_or_create(args.options.jwt_secret.as_deref(), &args.data_dir)?;
    Ok(Engine::builder(store, TokenKeys::from_secret(&secret)))
}

/// Adds the Redis sidecars when configured and builds.
async fn finish(
    mut builder: EngineBuilder,
    mut config: EngineConfig,
    redis: Option<RedisArgs>,
) -> anyhow::Result<Engine> {
    if let Some(redis) = redis {
        config.presence_heartbeat = (redis.presence_ttl / 3).max(Duration::from_secs(1));
        builder = with_redis(builder, &redis, &config).await?;
    }
    Ok(builder.config(config).build())
}

async fn with_redis(
    builder: EngineBuilder,
    redis: &RedisArgs,
    config: &EngineConfig,
) -> anyhow::Result<EngineBuilder> {
    let options = RedisOptions {
        key_prefix: redis.prefix.clone(),
        presence_ttl: redis.presence_ttl,
        quota: config.quota,
        ..RedisOptions::default()
    };
    let sidecars = RedisSidecars::connect(&redis.url, options)
        .await
        .context("cannot connect to Redis")?;
    tracing::info!("sharing presence, rate limits and fanout through Redis");
    Ok(builder
        .bus(Arc::new(sidecars.bus))
        .presence(Arc::new(sidecars.presence))
        .rate_limiter(Arc::new(sidecars.limiter)))
}

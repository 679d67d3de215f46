//! Opening the configured backends and assembling the engine over them: the embedded
//! SQLite store by default, MongoDB when a URL is given; Redis sidecars when a URL is given.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chat_cache_redis::{RedisOptions, RedisSidecars};
use chat_core::store::Store;
use chat_core::{Engine, EngineBuilder, EngineConfig, TokenKeys};
use chat_store_mongo::MongoStore;
use chat_store_sqlite::SqliteStore;

use crate::cli::StoreArgs;
use crate::secret;

/// Database used when neither `--mongo-db` nor the URL names one.
const DEFAULT_MONGO_DB: &str = "chat";

/// Redis settings of `chat serve`.
pub struct RedisArgs {
    /// `redis://…`.
    pub url: String,
    /// Key and channel prefix.
    pub prefix: String,
    /// Presence expiry of a dead node's sockets.
    pub presence_ttl: Duration,
}

/// The store the flags name.
pub async fn open_store(args: &StoreArgs) -> anyhow::Result<Arc<dyn Store>> {
    if let Some(url) = &args.mongo_url {
        let database = args
            .mongo_db
            .clone()
            .or_else(|| database_in_url(url))
            .unwrap_or_else(|| DEFAULT_MONGO_DB.to_owned());
        let store = MongoStore::connect(url, &database)
            .await
            .with_context(|| format!("cannot connect to MongoDB database {database}"))?;
        tracing::info!(%database, "using the MongoDB store");
        return Ok(Arc::new(store));
    }
    let path = args.data_dir.join("chat.sqlite3");
    let store = SqliteStore::open(&path)
        .with_context(|| format!("cannot open the store at {}", path.display()))?;
    tracing::info!(path = %path.display(), "using the embedded SQLite store");
    Ok(Arc::new(store))
}

/// An engine over the configured store, signing with the configured secret, and sharing
/// presence, limits and fanout through Redis when `redis` is given.
pub async fn engine(
    args: &StoreArgs,
    mut config: EngineConfig,
    redis: Option<RedisArgs>,
) -> anyhow::Result<Engine> {
    let store = open_store(args).await?;
    let secret = secret::load_or_create(args.jwt_secret.as_deref(), &args.data_dir)?;
    let mut builder = Engine::builder(store, TokenKeys::from_secret(&secret));
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

/// The database named by a connection string's path (`mongodb://host/db?opts` → `db`).
fn database_in_url(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let path = rest.split_once('/')?.1;
    let name = path.split('?').next()?;
    (!name.is_empty()).then(|| name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::database_in_url;

    #[test]
    fn the_database_comes_from_the_url_path() {
        assert_eq!(
            database_in_url("mongodb://h:1/app?w=1").as_deref(),
            Some("app")
        );
        assert_eq!(database_in_url("mongodb://h:1/app").as_deref(), Some("app"));
        assert_eq!(database_in_url("mongodb://h:1/?w=1"), None);
        assert_eq!(database_in_url("mongodb://h:1"), None);
    }
}

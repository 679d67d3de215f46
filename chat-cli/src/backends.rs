//! Opening the configured backends and assembling the engine over them: the embedded
//! SQLite store by default, MongoDB when a URL is given; Redis sidecars when a URL is given.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use chat_cache_redis::{RedisOptions, RedisSidecars};
use chat_core::store::Store;
use chat_core::{Engine, EngineBuilder, EngineConfig, TokenKeys};
use chat_store_mongo::MongoStore;
use chat_store_sqlite::{SqliteError, SqliteStore};

use crate::cli::StoreArgs;
use crate::{data_dir, secret};

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

/// The store the flags name. The embedded store's data dir is restricted to its owner, and
/// a data dir that has a token secret must still have its database unless
/// `--allow-empty-store` says otherwise.
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
    data_dir::tighten(&args.data_dir)?;
    let path = args.data_dir.join("chat.sqlite3");
    let secret = secret::path(&args.data_dir);
    let store = if secret.is_file() && !args.allow_empty_store {
        SqliteStore::open_existing(&path).map_err(|error| match error {
            SqliteError::Uninitialized { .. } => anyhow!(
                "the database {} is missing or empty, but the token secret {} shows this data \
                 dir was used before: the database was probably truncated, replaced or deleted. \
                 Restore it from a backup, or pass --allow-empty-store \
                 (CHAT_ALLOW_EMPTY_STORE=true) to start over with an empty store",
                path.display(),
                secret.display()
            ),
            other => anyhow::Error::new(other)
                .context(format!("cannot open the store at {}", path.display())),
        })?
    } else {
        SqliteStore::open(&path)
            .with_context(|| format!("cannot open the store at {}", path.display()))?
    };
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

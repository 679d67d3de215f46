//! Opening the configured store and assembling the engine over it.

use std::sync::Arc;

use anyhow::Context;
use chat_core::store::Store;
use chat_core::{Engine, EngineConfig, TokenKeys};
use chat_store_sqlite::SqliteStore;

use crate::cli::StoreArgs;
use crate::secret;

/// The store the flags name: the embedded SQLite file in the data dir.
pub async fn open_store(args: &StoreArgs) -> anyhow::Result<Arc<dyn Store>> {
    let path = args.data_dir.join("chat.sqlite3");
    let store = SqliteStore::open(&path)
        .with_context(|| format!("cannot open the store at {}", path.display()))?;
    tracing::info!(path = %path.display(), "using the embedded SQLite store");
    Ok(Arc::new(store))
}

/// An engine over the configured store, signing with the configured secret.
pub async fn engine(args: &StoreArgs, config: EngineConfig) -> anyhow::Result<Engine> {
    let store = open_store(args).await?;
    let secret = secret::load_or_create(args.jwt_secret.as_deref(), &args.data_dir)?;
    Ok(Engine::builder(store, TokenKeys::from_secret(&secret))
        .config(config)
        .build())
}

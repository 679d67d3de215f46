//! The store flags and opening the store they name: the embedded SQLite store by default,
//! MongoDB when a URL is given.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chat_core::blob::{BlobStore, DirBlobStore};
use chat_core::store::Store;
use chat_store_mongo::MongoStore;
use chat_store_sqlite::{SqliteError, SqliteStore};
use clap::Args;

use crate::{Error, data_dir, secret};

/// The folder of uploaded files inside the data dir.
const FILES_DIR: &str = "files";

/// The longest commit pause the flag takes: beyond it, a busy store would be slow for no gain.
const MAX_COMMIT_PAUSE_US: u64 = 100_000;

/// Database used when neither `--mongo-db` nor the URL names one.
const DEFAULT_MONGO_DB: &str = "chat";

/// Where the data lives and how tokens are signed; shared by the server and the tools.
#[derive(Debug, Args, Clone)]
pub struct StoreArgs {
    /// Folder of the embedded store and of the generated token secret.
    #[arg(long, env = "CHAT_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The secret and the database.
    #[command(flatten)]
    pub options: StoreOptions,
}

/// The store flags besides the data dir, which the load generator takes as they are (its own
/// data dir is optional): one definition, so it reads them exactly as the server does.
#[derive(Debug, Args, Clone)]
pub struct StoreOptions {
    /// Token signing secret; when absent, one is generated once and kept in the data dir.
    /// Nodes sharing a database must share it.
    #[arg(long, env = "CHAT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Keep data in this MongoDB deployment instead of the embedded store.
    #[arg(long, env = "CHAT_MONGO_URL", hide_env_values = true)]
    pub mongo_url: Option<String>,
    /// Database name in MongoDB (default: the URL's path, else `chat`).
    #[arg(long, env = "CHAT_MONGO_DB")]
    pub mongo_db: Option<String>,
    /// Open the embedded database even when it is missing or empty although the data dir's
    /// token secret shows the dir was used before (a sign the database file was truncated,
    /// replaced or deleted); without it, such a start is refused.
    #[arg(long, env = "CHAT_ALLOW_EMPTY_STORE")]
    pub allow_empty_store: bool,
    /// Microseconds the embedded store's writer, once CPU is short (the server's cores more
    /// than 80% busy, or the writer more than 60%), waits for more writes before committing a
    /// small group: fuller commits, less CPU per message, that much more latency. 0 commits at
    /// once always; at most 100000 (0.1 s).
    #[arg(
        long,
        env = "CHAT_COMMIT_PAUSE_US",
        default_value_t = default_commit_pause_us(),
        value_parser = clap::value_parser!(u64).range(0..=MAX_COMMIT_PAUSE_US)
    )]
    pub commit_pause_us: u64,
}

/// The embedded store's own default pause, in microseconds.
fn default_commit_pause_us() -> u64 {
    u64::try_from(chat_store_sqlite::DEFAULT_COMMIT_PAUSE.as_micros()).unwrap_or(u64::MAX)
}

/// The store the flags name. The data dir is restricted to its owner, and one that has a
/// token secret must still have its embedded database unless `--allow-empty-store` says
/// otherwise.
pub async fn open_store(args: &StoreArgs) -> Result<Arc<dyn Store>, Error> {
    Ok(open_backends(args).await?.0)
}

/// The store the flags name ([`open_store`]) and the blob store of uploaded files beside it:
/// GridFS in the same MongoDB database, or the data dir's `files` folder (0700, files 0600).
pub async fn open_backends(
    args: &StoreArgs,
) -> Result<(Arc<dyn Store>, Arc<dyn BlobStore>), Error> {
    if let Some(url) = &args.options.mongo_url {
        let database = args
            .options
            .mongo_db
            .clone()
            .or_else(|| database_in_url(url))
            .unwrap_or_else(|| DEFAULT_MONGO_DB.to_owned());
        let store = match MongoStore::connect(url, &database).await {
            Ok(store) => store,
            Err(source) => return Err(Error::Mongo { database, source }),
        };
        tracing::info!(%database, "using the MongoDB store, files in GridFS");
        let blobs = Arc::new(store.blobs());
        return Ok((Arc::new(store), blobs));
    }
    data_dir::tighten(&args.data_dir)?;
    let path = sqlite_path(&args.data_dir);
    let secret = secret::path(&args.data_dir);
    let opened = if secret.is_file() && !args.options.allow_empty_store {
        SqliteStore::open_existing(&path)
    } else {
        SqliteStore::open(&path)
    };
    let store = opened.map_err(|source| match source {
        SqliteError::Uninitialized { .. } => Error::EmptyStore {
            path: path.clone(),
            secret,
        },
        source => Error::Sqlite {
            path: path.clone(),
            source,
        },
    })?;
    store.set_commit_pause(Duration::from_micros(args.options.commit_pause_us));
    let files = args.data_dir.join(FILES_DIR);
    let blobs = DirBlobStore::open(&files).map_err(|source| Error::Files {
        path: files.clone(),
        source,
    })?;
    tracing::info!(path = %path.display(), "using the embedded SQLite store");
    Ok((Arc::new(store), Arc::new(blobs)))
}

/// The embedded database's file in a data dir.
pub fn sqlite_path(data_dir: &Path) -> PathBuf {
    data_dir.join("chat.sqlite3")
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

//! `chat backup` and `chat restore`: the embedded SQLite database, copied with SQLite's
//! backup API. A backup is consistent as of one instant and safe while servers run; a
//! restore takes the data dir's lock alone, so it is refused while a `chat serve` runs there.

use anyhow::bail;
use chat_cli::{DataDirLock, StoreArgs, sqlite_path};

use crate::cli_ops::{BackupArgs, RestoreArgs};

fn embedded_only(store: &StoreArgs, what: &str) -> anyhow::Result<()> {
    if store.options.mongo_url.is_some() {
        bail!("{what} covers the embedded store; back MongoDB up with its own tools (mongodump)");
    }
    Ok(())
}

/// `chat backup --to FILE`.
pub async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    embedded_only(&args.store, "chat backup")?;
    let database = sqlite_path(&args.store.data_dir);
    let to = args.to.clone();
    tokio::task::spawn_blocking(move || chat_store_sqlite::backup::backup(&database, &to))
        .await??;
    println!("backed up to {}", args.to.display());
    Ok(())
}

/// `chat restore --from FILE`.
pub async fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    embedded_only(&args.store, "chat restore")?;
    let _lock = DataDirLock::exclusive(&args.store.data_dir)?;
    let database = sqlite_path(&args.store.data_dir);
    let from = args.from.clone();
    tokio::task::spawn_blocking(move || chat_store_sqlite::backup::restore(&from, &database))
        .await??;
    println!(
        "restored {} from {}",
        args.store.data_dir.display(),
        args.from.display()
    );
    Ok(())
}

//! The database's files on disk: owner-only modes, and `open_existing`, which refuses a
//! database that is missing, empty or was never initialized and leaves it untouched.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use chat_core::store::UserStore;
use chat_core::testing::fixtures;
use chat_store_sqlite::{SqliteError, SqliteStore};

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn companion(path: &Path, suffix: &str) -> std::path::PathBuf {
    path.with_file_name(format!(
        "{}{suffix}",
        path.file_name().unwrap().to_str().unwrap()
    ))
}

#[tokio::test]
async fn a_new_database_its_directory_wal_and_shm_are_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("chat.db");
    let store = SqliteStore::open(&path).unwrap();
    fixtures::user(&store, "Ann").await;
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    for file in [
        path.clone(),
        companion(&path, "-wal"),
        companion(&path, "-shm"),
    ] {
        assert_eq!(mode(&file), 0o600, "{}", file.display());
    }
}

#[tokio::test]
async fn loose_modes_are_tightened_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let store = SqliteStore::open(&path).unwrap();
    let ann = fixtures::user(&store, "Ann").await;
    drop(store);
    let wal = companion(&path, "-wal");
    fs::write(&wal, b"").unwrap();
    for file in [&path, &wal] {
        fs::set_permissions(file, fs::Permissions::from_mode(0o644)).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&wal), 0o600);
    assert_eq!(store.user(ann.id).await.unwrap(), Some(ann));
}

fn refused(result: Result<SqliteStore, SqliteError>) -> bool {
    matches!(result, Err(SqliteError::Uninitialized { .. }))
}

#[tokio::test]
async fn open_existing_refuses_a_missing_empty_or_truncated_database_and_leaves_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    assert!(refused(SqliteStore::open_existing(&path)));
    assert!(!path.exists(), "nothing was created");

    fs::write(&path, b"").unwrap();
    assert!(refused(SqliteStore::open_existing(&path)));
    assert_eq!(fs::metadata(&path).unwrap().len(), 0, "nothing was written");

    let store = SqliteStore::open(&path).unwrap();
    let ann = fixtures::user(&store, "Ann").await;
    drop(store);
    let store = SqliteStore::open_existing(&path).unwrap();
    assert_eq!(store.user(ann.id).await.unwrap(), Some(ann));
    drop(store);

    fs::File::create(&path).unwrap();
    for suffix in ["-wal", "-shm"] {
        let _ = fs::remove_file(companion(&path, suffix));
    }
    assert!(refused(SqliteStore::open_existing(&path)));
}

#[tokio::test]
async fn open_existing_accepts_an_initialized_database_without_users() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    drop(SqliteStore::open(&path).unwrap());
    SqliteStore::open_existing(&path).unwrap();
}

//! The search index in its file of its own (`chat.db-search`): only the owner may read it, it
//! is rebuilt when it is gone or the database was restored behind it, and the list of edits
//! it has synced is forgotten.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chat_core::id::RoomId;
use chat_core::model::{Message, User, now};
use chat_core::search::{SearchQuery, Terms};
use chat_core::store::{ConversationStore, MessageStore, RoomStore, UserStore};
use chat_core::testing::fixtures::{new_message, new_user};
use chat_store_sqlite::SqliteStore;
use chat_store_sqlite::backup::{backup, restore};

fn index_file(database: &Path) -> PathBuf {
    PathBuf::from(format!("{}-search", database.display()))
}

/// A store on `chat.db` in `dir`, with a direct room of two new users, and its first user.
async fn open_with_room(dir: &Path) -> (PathBuf, SqliteStore, User, RoomId) {
    let path = dir.join("chat.db");
    let store = SqliteStore::open(&path).unwrap();
    let ann = store.create_user(new_user("Ann")).await.unwrap();
    let bob = store.create_user(new_user("Bob")).await.unwrap();
    let room = store.direct_room(ann.id, bob.id, now()).await.unwrap();
    (path, store, ann, room.id)
}

async fn send(store: &SqliteStore, room: RoomId, sender: &User, text: &str) -> Message {
    let message = new_message(room, sender, text, None);
    store.append(message).await.unwrap().message
}

/// The texts of the messages of `room` with `word`, newest first.
async fn found(store: &SqliteStore, room: RoomId, word: &str) -> Vec<String> {
    let query = SearchQuery {
        terms: Terms::parse(word).unwrap(),
        rooms: vec![room],
        before: None,
        limit: 50,
    };
    let hits = store.search(&query).await.unwrap();
    hits.into_iter().map(|message| message.text).collect()
}

/// A deleted index file is built again from the messages at the next open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_index_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let (path, store, ann, room) = open_with_room(dir.path()).await;
    for i in 0..20 {
        send(&store, room, &ann, &format!("fig {i}")).await;
    }
    assert_eq!(found(&store, room, "fig").await.len(), 20);
    let mode = std::fs::metadata(index_file(&path))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "the index holds words of every message"
    );
    drop(store);

    std::fs::remove_file(index_file(&path)).unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let hits = found(&store, room, "fig").await;
    assert_eq!(hits.len(), 20);
    assert_eq!(hits[0], "fig 19");
}

/// After a restore the index finds what the restored database holds: not the messages sent
/// after the backup, and the messages sent since, which take their places.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_database_gets_a_new_index() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved.db");
    let (path, store, ann, room) = open_with_room(dir.path()).await;
    send(&store, room, &ann, "kiwi before").await;
    backup(&path, &saved).unwrap();
    let later = send(&store, room, &ann, "kiwi after").await;
    store
        .edit_message(room, later.id, "kiwi after edited", now())
        .await
        .unwrap();
    assert_eq!(
        found(&store, room, "kiwi").await,
        ["kiwi after edited", "kiwi before"]
    );
    drop(store);

    restore(&saved, &path).unwrap();
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(found(&store, room, "kiwi").await, ["kiwi before"]);
    send(&store, room, &ann, "kiwi anew").await;
    assert_eq!(
        found(&store, room, "kiwi").await,
        ["kiwi anew", "kiwi before"]
    );
    assert!(found(&store, room, "after").await.is_empty());
}

/// Edits and deletions are listed for the indexer, and forgotten once it has synced them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synced_changes_are_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let (path, store, ann, room) = open_with_room(dir.path()).await;
    let first = send(&store, room, &ann, "plum one").await;
    let second = send(&store, room, &ann, "plum two").await;
    store
        .edit_message(room, first.id, "pear one", now())
        .await
        .unwrap();
    store.delete_message(room, second.id, now()).await.unwrap();
    let listed = || {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.query_row("SELECT count(*) FROM search_changes", [], |row| {
            row.get::<_, i64>(0)
        })
        .unwrap()
    };
    assert_eq!(listed(), 2);

    assert!(found(&store, room, "plum").await.is_empty());
    assert_eq!(found(&store, room, "pear").await, ["pear one"]);
    // The writer forgets them with the read positions it stores every so often.
    for _ in 0..100 {
        if listed() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        send(&store, room, &ann, "nudge").await;
    }
    panic!("the synced changes are still listed: {}", listed());
}

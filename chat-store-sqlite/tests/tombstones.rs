//! Deletions remove the text from the database file itself, not only from query answers:
//! after a flush neither the database nor its WAL holds a deleted message's bytes.

use chat_core::id::UserId;
use chat_core::model::now;
use chat_core::store::{ConversationStore, MessageStore, RoomStore, Store, UserStore};
use chat_core::testing::fixtures::{new_message, new_user};
use chat_store_sqlite::SqliteStore;

fn files_contain(dir: &std::path::Path, needle: &[u8]) -> bool {
    std::fs::read_dir(dir).unwrap().any(|entry| {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        bytes.windows(needle.len()).any(|window| window == needle)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_text_leaves_the_database_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let store = SqliteStore::open(&path).unwrap();
    let ann = store.create_user(new_user("Ann")).await.unwrap();
    let bob = store.create_user(new_user("Bob")).await.unwrap();
    let room = store.direct_room(ann.id, bob.id, now()).await.unwrap();
    let secret = format!("the secret is {}", UserId::generate());
    let edited_away = format!("a typo to hide {}", UserId::generate());
    let kept = format!("still here {}", UserId::generate());
    let doomed = store
        .append(new_message(room.id, &ann, &edited_away, None))
        .await
        .unwrap()
        .message;
    store
        .edit_message(room.id, doomed.id, &secret, now())
        .await
        .unwrap();
    store
        .append(new_message(room.id, &bob, &kept, None))
        .await
        .unwrap();
    store.flush().await.unwrap();
    assert!(files_contain(dir.path(), secret.as_bytes()));

    store
        .delete_message(room.id, doomed.id, now())
        .await
        .unwrap();
    store.flush().await.unwrap();
    assert!(!files_contain(dir.path(), secret.as_bytes()));
    assert!(files_contain(dir.path(), kept.as_bytes()));
    drop(store);
    assert!(!files_contain(dir.path(), secret.as_bytes()));
    let store = SqliteStore::open(&path).unwrap();
    let tombstone = store.message(doomed.id).await.unwrap().unwrap();
    assert!(tombstone.deleted && tombstone.text.is_empty());
}

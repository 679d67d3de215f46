//! Two stores on one database file, like two `chat` processes: the writer transactions hold
//! SQLite's write lock, so group changes stay consistent across processes too, and what one
//! keeps in memory for a while (senders' read positions) reaches the other.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_core::id::RoomId;
use chat_core::membership::{Change, NewGroup, RoomEvent};
use chat_core::model::now;
use chat_core::store::{ConversationStore, GroupStore, MessageStore, RoomStore, UserStore};
use chat_core::testing::fixtures::{new_message, new_user};
use chat_store_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_changes_from_two_stores_on_one_file_stay_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let one = Arc::new(SqliteStore::open(&path).unwrap());
    let two = Arc::new(SqliteStore::open(&path).unwrap());
    let ann = one.create_user(new_user("Ann")).await.unwrap();
    let bob = two.create_user(new_user("Bob")).await.unwrap();
    let (room, _) = one
        .create_group(NewGroup {
            id: RoomId::generate(),
            name: "Shared".into(),
            creator: ann.id,
            creator_name: ann.name.clone(),
            members: Vec::new(),
            created_at: now(),
            max_members: 10,
        })
        .await
        .unwrap();
    let change = Change {
        room: room.id,
        actor: ann.id,
        actor_name: ann.name.clone(),
        at: now(),
    };
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = if i % 2 == 0 { one.clone() } else { two.clone() };
        let change = change.clone();
        let bob = bob.id;
        tasks.push(tokio::spawn(async move {
            let added = store.add_members(&change, &[bob], 10).await.unwrap();
            let renamed = store.rename(&change, &format!("name {i}")).await.unwrap();
            (added.len(), renamed)
        }));
    }
    let mut added = 0;
    let mut renames = Vec::new();
    for task in tasks {
        let (count, renamed) = task.await.unwrap();
        added += count;
        renames.push(renamed);
    }
    assert_eq!(added, 1, "one membership, one Added entry");
    assert_eq!(two.member_count(room.id).await.unwrap(), 2);
    let seqs: HashSet<u64> = renames.iter().map(|entry| entry.seq).collect();
    assert_eq!(seqs.len(), 16);
    let last = renames.iter().max_by_key(|entry| entry.seq).unwrap();
    let Some(RoomEvent::Renamed { name }) = &last.event else {
        panic!("not a rename: {last:?}");
    };
    for store in [&one, &two] {
        let read = store.room(room.id).await.unwrap().unwrap();
        assert_eq!(&read.group.unwrap().name, name);
        let history = store.page(room.id, None, 100).await.unwrap();
        assert_eq!(history.len(), 18, "created, added, 16 renames");
        assert_eq!(history[0].seq, 18);
    }
}

/// A sender's read position moves at once for the store that appended, and reaches another
/// store on the same file once the appending store's writer stores it (every 500 ms), even
/// when nothing is written after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_senders_read_position_reaches_the_other_store() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let one = SqliteStore::open(&path).unwrap();
    let two = SqliteStore::open(&path).unwrap();
    let ann = one.create_user(new_user("Ann")).await.unwrap();
    let bob = one.create_user(new_user("Bob")).await.unwrap();
    let room = one.direct_room(ann.id, bob.id, now()).await.unwrap();
    let mut sent = 0;
    for text in ["one", "two", "three"] {
        let message = new_message(room.id, &ann, text, None);
        sent = one.append(message).await.unwrap().message.seq;
    }
    let key = [(room.id, ann.id)];
    assert_eq!(one.read_positions(&key).await.unwrap(), vec![sent]);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if two.read_positions(&key).await.unwrap() == vec![sent] {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the position never reached the other store"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Each store's writer remembers the keys of the rooms' newest messages; a message the other
/// store appended meanwhile is read back before a resend is checked, so a resend through
/// either store finds its original, even when both race with the same key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resends_through_either_store_find_their_original() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let one = Arc::new(SqliteStore::open(&path).unwrap());
    let two = Arc::new(SqliteStore::open(&path).unwrap());
    let ann = one.create_user(new_user("Ann")).await.unwrap();
    let bob = one.create_user(new_user("Bob")).await.unwrap();
    let room = one.direct_room(ann.id, bob.id, now()).await.unwrap();
    let mut originals = Vec::new();
    for (store, key) in [(&one, "c1"), (&two, "c2"), (&one, "c3")] {
        let sent = store
            .append(new_message(room.id, &ann, key, Some(key)))
            .await
            .unwrap();
        assert!(sent.created);
        originals.push(sent.message);
    }
    for (store, original) in [
        (&two, &originals[0]),
        (&two, &originals[2]),
        (&one, &originals[1]),
    ] {
        let key = original.client_id.as_deref();
        let again = store
            .append(new_message(room.id, &ann, "again", key))
            .await
            .unwrap();
        assert!(!again.created, "{key:?} stored twice");
        assert_eq!(&again.message, original);
    }

    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = if i % 2 == 0 { one.clone() } else { two.clone() };
        let message = new_message(room.id, &ann, "raced", Some("race"));
        tasks.push(tokio::spawn(
            async move { store.append(message).await.unwrap() },
        ));
    }
    let mut created = Vec::new();
    let mut ids = HashSet::new();
    for task in tasks {
        let appended = task.await.unwrap();
        ids.insert(appended.message.id);
        created.push(appended.created);
    }
    assert_eq!(created.iter().filter(|&&c| c).count(), 1);
    assert_eq!(ids.len(), 1);
    assert_eq!(one.page(room.id, None, 100).await.unwrap().len(), 4);
}

/// Both stores' indexers keep the one search index: searches through either, racing each
/// other and the appends through both, never fail and find every message acknowledged before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn searches_through_either_store_see_every_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let stores = [
        Arc::new(SqliteStore::open(&path).unwrap()),
        Arc::new(SqliteStore::open(&path).unwrap()),
    ];
    let ann = stores[0].create_user(new_user("Ann")).await.unwrap();
    let bob = stores[1].create_user(new_user("Bob")).await.unwrap();
    let room = stores[0].direct_room(ann.id, bob.id, now()).await.unwrap();
    let query = chat_core::search::SearchQuery {
        terms: chat_core::search::Terms::parse("olive").unwrap(),
        rooms: vec![room.id],
        before: None,
        limit: 1_000,
    };
    for round in 0..40 {
        let (one, two) = tokio::join!(
            stores[0].append(new_message(room.id, &ann, "olive", None)),
            stores[1].append(new_message(room.id, &bob, "olive", None)),
        );
        one.unwrap();
        two.unwrap();
        let (one, two) = tokio::join!(stores[0].search(&query), stores[1].search(&query));
        for found in [one, two] {
            assert_eq!(found.unwrap().len(), 2 * (round + 1));
        }
    }
}

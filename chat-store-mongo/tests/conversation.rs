//! Conversation state across two servers on one database, beyond the conformance suite: read
//! positions never move back when both move one at once, edits on one server never bring back
//! a message deleted on the other, and a deletion leaves no text in the stored document.

use std::sync::Arc;

use chat_core::model::now;
use chat_core::store::Store;
use chat_core::testing::fixtures::{new_message, user};
use chat_store_mongo::MongoStore;
use chat_testkit::{mongo_url, unique_name};
use mongodb::bson::{Document, doc, oid::ObjectId};

/// Two stores ("servers") on one fresh database, and its name.
async fn two_servers() -> Option<(Arc<dyn Store>, Arc<dyn Store>, String, String)> {
    let url = mongo_url()?;
    let db = unique_name("chat_test");
    let a = MongoStore::connect(&url, &db).await.unwrap();
    let b = MongoStore::connect(&url, &db).await.unwrap();
    Some((Arc::new(a), Arc::new(b), url, db))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_positions_race_across_servers_and_keep_the_highest() {
    let Some((a, b, _, _)) = two_servers().await else {
        return;
    };
    let ann = user(a.as_ref(), "Ann").await;
    let bob = user(a.as_ref(), "Bob").await;
    let room = a.direct_room(ann.id, bob.id, now()).await.unwrap();
    for round in 0..3u64 {
        let base = round * 100;
        let marks = (1..=20u64).map(|i| {
            let store = if i % 2 == 0 { a.clone() } else { b.clone() };
            let seq = base + if i % 3 == 0 { 21 - i } else { i };
            tokio::spawn(async move { store.mark_read(room.id, bob.id, seq).await.unwrap() })
        });
        for mark in marks {
            mark.await.unwrap();
        }
        for store in [&a, &b] {
            let position = store.read_positions(&[(room.id, bob.id)]).await.unwrap();
            assert_eq!(position, vec![base + 20]);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_on_one_server_never_restore_a_deletion_on_the_other() {
    let Some((a, b, _, _)) = two_servers().await else {
        return;
    };
    let ann = user(a.as_ref(), "Ann").await;
    let bob = user(a.as_ref(), "Bob").await;
    let room = a.direct_room(ann.id, bob.id, now()).await.unwrap();
    for round in 0..4 {
        let sent = a
            .append(new_message(room.id, &ann, "first draft", None))
            .await
            .unwrap()
            .message;
        let edits = (0..4).map(|i| {
            let b = b.clone();
            tokio::spawn(async move {
                let _either = b
                    .edit_message(room.id, sent.id, &format!("draft {round}.{i}"), now())
                    .await;
            })
        });
        let edits: Vec<_> = edits.collect();
        a.delete_message(room.id, sent.id, now()).await.unwrap();
        for edit in edits {
            edit.await.unwrap();
        }
        for store in [&a, &b] {
            let stored = store.message(sent.id).await.unwrap().unwrap();
            assert!(stored.deleted && stored.text.is_empty(), "{stored:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_message_keeps_no_text_in_the_collection() {
    let Some((a, _, url, db)) = two_servers().await else {
        return;
    };
    let ann = user(a.as_ref(), "Ann").await;
    let bob = user(a.as_ref(), "Bob").await;
    let room = a.direct_room(ann.id, bob.id, now()).await.unwrap();
    let secret = format!("secret {}", ObjectId::new());
    let sent = a
        .append(new_message(room.id, &ann, &secret, None))
        .await
        .unwrap()
        .message;
    a.delete_message(room.id, sent.id, now()).await.unwrap();
    let client = mongodb::Client::with_uri_str(&url).await.unwrap();
    let database = client.database(&db);
    for name in database.list_collection_names().await.unwrap() {
        let mut cursor = database
            .collection::<Document>(&name)
            .find(doc! {})
            .await
            .unwrap();
        while cursor.advance().await.unwrap() {
            let raw = cursor.current().as_bytes().to_vec();
            assert!(
                !raw.windows(secret.len())
                    .any(|window| window == secret.as_bytes()),
                "{name} still holds the deleted text"
            );
        }
    }
    let stored = database
        .collection::<Document>("messages")
        .find_one(doc! { "_id": ObjectId::from_bytes(*sent.id.0.as_bytes()) })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.get_str("text").unwrap(), "");
    assert!(stored.get_bool("deleted").unwrap());
}

//! The reaction change log stays one document per reacted message, however often the
//! message's reactions change, and catch-up still reports the newest change.

use chrono::Duration;
use mongodb::bson::{Document, doc};

use chat_core::model::now;
use chat_core::store::{ConversationStore, MessageStore, ReactionChange, RoomStore};
use chat_core::testing::fixtures::{new_message, user};
use chat_store_mongo::MongoStore;
use chat_testkit::{mongo_url, unique_name};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaction_changes_keep_one_log_entry_per_message() {
    let Some(url) = mongo_url() else { return };
    let database = unique_name("chat_test");
    let store = MongoStore::connect(&url, &database).await.unwrap();
    let (ann, bob) = (user(&store, "Ann").await, user(&store, "Bob").await);
    let room = store.direct_room(ann.id, bob.id, now()).await.unwrap().id;
    let message = store
        .append(new_message(room, &ann, "react to me", None))
        .await
        .unwrap()
        .message;

    let t0 = now() - Duration::seconds(60);
    let mut last = t0;
    for (i, (who, add)) in [
        (ann.id, true),
        (bob.id, true),
        (ann.id, false),
        (bob.id, false),
    ]
    .into_iter()
    .cycle()
    .take(12)
    .enumerate()
    {
        last = t0 + Duration::seconds(i64::try_from(i).unwrap());
        let reacted = store
            .react(
                ReactionChange {
                    room,
                    message: message.id,
                    user: who,
                    emoji: "👍",
                    add,
                    at: last,
                },
                8,
            )
            .await
            .unwrap();
        assert!(reacted.changed, "change {i} changes something");
    }

    let raw = mongodb::Client::with_uri_str(&url).await.unwrap();
    let log = raw
        .database(&database)
        .collection::<Document>("reaction_changes");
    assert_eq!(log.count_documents(doc! {}).await.unwrap(), 1);

    let changed = store.changed(room, t0, 10).await.unwrap();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].message.id, message.id);
    assert_eq!(changed[0].at, last);
    assert!(
        store
            .changed(room, last + Duration::seconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

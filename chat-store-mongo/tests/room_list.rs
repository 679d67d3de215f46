//! A member's room list beyond the conformance suite: a new message moves its room to the top
//! in the database's own order, so it survives a limit of one.

use chrono::Duration;

use chat_core::MessageId;
use chat_core::model::{NewMessage, now};
use chat_core::store::{MessageStore, RoomStore};
use chat_core::testing::fixtures::user;
use chat_store_mongo::MongoStore;
use chat_testkit::{mongo_url, unique_name};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_message_moves_its_room_to_the_top_of_a_limited_list() {
    let Some(url) = mongo_url() else { return };
    let store = MongoStore::connect(&url, &unique_name("chat_test"))
        .await
        .unwrap();
    let me = user(&store, "Me").await;
    let t0 = now() - Duration::seconds(60);
    let mut rooms = Vec::new();
    for i in 0..3 {
        let other = user(&store, &format!("Other{i}")).await;
        let opened = t0 + Duration::seconds(i);
        rooms.push(store.direct_room(me.id, other.id, opened).await.unwrap());
    }
    let top = store.rooms_of(me.id, 1).await.unwrap();
    assert_eq!(top[0].id, rooms[2].id);

    let oldest = &rooms[0];
    let sent = store
        .append(NewMessage {
            id: MessageId::generate(),
            room_id: oldest.id,
            sender_id: me.id,
            sender_name: me.name.clone(),
            text: "wake up".into(),
            client_id: None,
            timestamp: now(),
            attachments: Vec::new(),
        })
        .await
        .unwrap()
        .message;
    let top = store.rooms_of(me.id, 1).await.unwrap();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0].id, oldest.id);
    assert_eq!(top[0].last_message.as_ref(), Some(&sent));
    assert_eq!(top[0].last_activity, sent.timestamp);
}

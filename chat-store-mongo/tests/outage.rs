//! The database goes away mid-run and comes back: appends fail fast and clearly while it is
//! gone, nothing acknowledged is lost, and the same store recovers by itself.
//!
//! Runs a private FerretDB (from `CHAT_TEST_FERRETDB_BIN`) so it can kill it without disturbing
//! the server the other tests share.

use std::time::{Duration, Instant};

use chat_core::model::{Message, NewMessage, User, now};
use chat_core::store::{MessageStore, RoomStore, Store};
use chat_core::testing::fixtures::{new_message, user};
use chat_core::{Error, RoomId};
use chat_store_mongo::MongoStore;
use chat_testkit::Service;

/// Longest an append may take to fail while the database is down: the store's 3 s server
/// selection timeout plus slack for a loaded CI machine.
const FAIL_FAST: Duration = Duration::from_secs(8);

fn message(room: RoomId, sender: &User, text: &str, client_id: &str) -> NewMessage {
    new_message(room, sender, text, Some(client_id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_fail_fast_while_the_database_is_down_and_recover_by_themselves() {
    let Some(mut server) = Service::ferretdb() else {
        return;
    };
    let url = server.url();
    let store = MongoStore::connect(&url, "chat_outage").await.unwrap();
    let (ann, bob) = (user(&store, "Ann").await, user(&store, "Bob").await);
    let room = store.direct_room(ann.id, bob.id, now()).await.unwrap();

    let mut acknowledged: Vec<Message> = Vec::new();
    for i in 0..20 {
        let new = message(
            room.id,
            &ann,
            &format!("before {i}"),
            &format!("before-{i}"),
        );
        acknowledged.push(store.append(new).await.unwrap().message);
    }

    server.kill();
    for i in 0..3 {
        let started = Instant::now();
        let new = message(room.id, &bob, "while down", &format!("down-{i}"));
        let result = store.append(new).await;
        assert!(
            matches!(result, Err(Error::Unavailable { .. })),
            "append while down: {result:?}"
        );
        eprintln!("append {i} while down failed in {:?}", started.elapsed());
        assert!(
            started.elapsed() < FAIL_FAST,
            "took {:?}",
            started.elapsed()
        );
    }
    let ping = store.ping().await;
    assert!(matches!(ping, Err(Error::Unavailable { .. })), "{ping:?}");

    server.restart();
    // The client resends with its client id until the store answers, as a socket client would;
    // the store itself is not told that the database is back.
    let restarted = Instant::now();
    let deadline = restarted + Duration::from_secs(30);
    let resent = loop {
        match store
            .append(message(room.id, &bob, "after", "after-0"))
            .await
        {
            Ok(appended) => break appended.message,
            Err(Error::Unavailable { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("the store did not recover: {error:?}"),
        }
    };
    eprintln!(
        "appends work again {:?} after the restart",
        restarted.elapsed()
    );
    acknowledged.push(resent);
    let next = store
        .append(message(room.id, &ann, "and on", "after-1"))
        .await
        .unwrap();
    assert!(next.created);
    acknowledged.push(next.message);

    let mut history = store.page(room.id, None, 100).await.unwrap();
    history.reverse();
    let seqs: Vec<u64> = history.iter().map(|message| message.seq).collect();
    assert_eq!(
        seqs,
        (1..=history.len() as u64).collect::<Vec<_>>(),
        "gapless"
    );
    // Every acknowledged message is there, in the order it was acknowledged; the appends that
    // failed while the database was down stored nothing.
    assert_eq!(history, acknowledged);
    let summary = store.room(room.id).await.unwrap().unwrap();
    assert_eq!(summary.last_message.as_ref(), acknowledged.last());
    store.ping().await.unwrap();
}

//! Two servers on one database: each `MongoStore` has its own driver client, connection pool and
//! in-process lanes, exactly like two `chat` processes, so only the database keeps them apart.

use std::collections::HashSet;
use std::sync::Arc;

use chat_core::model::{User, now};
use chat_core::store::Store;
use chat_core::testing::fixtures::new_message as message;
use chat_store_mongo::MongoStore;
use chat_testkit::{mongo_url, unique_name};

async fn user(store: &Arc<dyn Store>, name: &str) -> User {
    chat_core::testing::fixtures::user(store.as_ref(), name).await
}

/// Two stores on one fresh database, or `None` when `CHAT_TEST_MONGO_URL` is unset.
async fn two_servers() -> Option<[Arc<dyn Store>; 2]> {
    let url = mongo_url()?;
    let database = unique_name("chat_test");
    let (one, two) = tokio::join!(
        MongoStore::connect(&url, &database),
        MongoStore::connect(&url, &database)
    );
    Some([Arc::new(one.unwrap()), Arc::new(two.unwrap())])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_direct_rooms_from_two_servers_yield_one_room() {
    let Some(servers) = two_servers().await else {
        return;
    };
    let (ann, bob) = (
        user(&servers[0], "Ann").await,
        user(&servers[1], "Bob").await,
    );
    let attempts: Vec<_> = (0..16)
        .map(|i| {
            let store = servers[i % 2].clone();
            let (x, y) = if i % 3 == 0 {
                (ann.id, bob.id)
            } else {
                (bob.id, ann.id)
            };
            tokio::spawn(async move { store.direct_room(x, y, now()).await.unwrap().id })
        })
        .collect();
    let mut ids = HashSet::new();
    for attempt in attempts {
        ids.insert(attempt.await.unwrap());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");
    for server in &servers {
        assert_eq!(server.rooms_of(ann.id, 10).await.unwrap().len(), 1);
        assert_eq!(server.rooms_of(bob.id, 10).await.unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_from_two_servers_get_one_gapless_sequence() {
    let Some(servers) = two_servers().await else {
        return;
    };
    let (ann, bob) = (
        user(&servers[0], "Ann").await,
        user(&servers[0], "Bob").await,
    );
    let room = servers[0].direct_room(ann.id, bob.id, now()).await.unwrap();
    const PER_SERVER: usize = 40;
    let tasks: Vec<_> = (0..2 * PER_SERVER)
        .map(|i| {
            let store = servers[i % 2].clone();
            let sender = if i % 4 < 2 { ann.clone() } else { bob.clone() };
            tokio::spawn(async move {
                let appended = store
                    .append(message(room.id, &sender, &format!("m{i}"), None))
                    .await
                    .unwrap();
                assert!(appended.created);
                appended.message
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.push(task.await.unwrap());
    }
    acknowledged.sort_by_key(|message| message.seq);
    let seqs: Vec<u64> = acknowledged.iter().map(|message| message.seq).collect();
    assert_eq!(seqs, (1..=2 * PER_SERVER as u64).collect::<Vec<_>>());

    for server in &servers {
        let mut history = server.page(room.id, None, 1000).await.unwrap();
        history.reverse();
        assert_eq!(history, acknowledged, "history as one server sees it");
        let summary = server.room(room.id).await.unwrap().unwrap();
        assert_eq!(summary.last_message.as_ref(), acknowledged.last());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resend_through_the_other_server_is_idempotent() {
    let Some(servers) = two_servers().await else {
        return;
    };
    let (ann, bob) = (
        user(&servers[0], "Ann").await,
        user(&servers[1], "Bob").await,
    );
    let room = servers[1].direct_room(bob.id, ann.id, now()).await.unwrap();
    let sends: Vec<_> = (0..8)
        .map(|i| {
            let store = servers[i % 2].clone();
            let new = message(room.id, &ann, &format!("try {i}"), Some("once"));
            tokio::spawn(async move { store.append(new).await.unwrap() })
        })
        .collect();
    let mut created = Vec::new();
    let mut stored = HashSet::new();
    for send in sends {
        let appended = send.await.unwrap();
        stored.insert(appended.message.id);
        if appended.created {
            created.push(appended.message);
        }
    }
    assert_eq!(created.len(), 1, "exactly one send stores the message");
    assert_eq!(
        stored,
        HashSet::from([created[0].id]),
        "every send sees the original"
    );
    assert_eq!(created[0].seq, 1);
    let next = servers[0]
        .append(message(room.id, &bob, "next", None))
        .await
        .unwrap();
    assert_eq!(next.message.seq, 2, "the refused resends left no gap");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alternating_servers_continue_each_others_sequence() {
    let Some(servers) = two_servers().await else {
        return;
    };
    let (ann, bob) = (
        user(&servers[0], "Ann").await,
        user(&servers[1], "Bob").await,
    );
    let room = servers[0].direct_room(ann.id, bob.id, now()).await.unwrap();
    // Each server remembers the head it wrote last, which the other has always moved past.
    for seq in 1..=10 {
        let (server, sender) = if seq % 2 == 1 {
            (&servers[0], &ann)
        } else {
            (&servers[1], &bob)
        };
        let appended = server
            .append(message(room.id, sender, &format!("turn {seq}"), None))
            .await
            .unwrap();
        assert_eq!(appended.message.seq, seq);
    }
}

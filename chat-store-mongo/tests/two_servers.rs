//! Two servers on one database: each `MongoStore` has its own driver client, connection pool and
//! in-process lanes, exactly like two `chat` processes, so only the database keeps them apart.

use std::collections::HashSet;
use std::sync::Arc;

use chat_core::membership::{Change, NewGroup, Role, RoomEvent};
use chat_core::model::{Room, User, now};
use chat_core::store::Store;
use chat_core::testing::fixtures::new_message as message;
use chat_core::{RoomId, UserId};
use chat_store_mongo::MongoStore;

async fn user(store: &Arc<dyn Store>, name: &str) -> User {
    chat_core::testing::fixtures::user(store.as_ref(), name).await
}

/// Two stores on one fresh database, or `None` when `CHAT_TEST_MONGO_URL` is unset.
async fn two_servers(test: &str) -> Option<[Arc<dyn Store>; 2]> {
    let Some(url) = std::env::var("CHAT_TEST_MONGO_URL")
        .ok()
        .filter(|url| !url.is_empty())
    else {
        eprintln!("SKIPPED {test}: CHAT_TEST_MONGO_URL is not set");
        return None;
    };
    let database = format!("chat_test_{}", UserId::generate());
    let (one, two) = tokio::join!(
        MongoStore::connect(&url, &database),
        MongoStore::connect(&url, &database)
    );
    Some([Arc::new(one.unwrap()), Arc::new(two.unwrap())])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_direct_rooms_from_two_servers_yield_one_room() {
    let Some(servers) =
        two_servers("concurrent_direct_rooms_from_two_servers_yield_one_room").await
    else {
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
    let Some(servers) =
        two_servers("concurrent_appends_from_two_servers_get_one_gapless_sequence").await
    else {
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
    let Some(servers) = two_servers("a_resend_through_the_other_server_is_idempotent").await else {
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
    let Some(servers) = two_servers("alternating_servers_continue_each_others_sequence").await
    else {
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

/// A group of `owner` and `others` created through the first server.
async fn group(servers: &[Arc<dyn Store>; 2], owner: &User, others: &[&User]) -> Room {
    let new = NewGroup {
        id: RoomId::generate(),
        name: "Both".into(),
        creator: owner.id,
        creator_name: owner.name.clone(),
        members: others.iter().map(|user| user.id).collect(),
        created_at: now(),
        max_members: 100,
    };
    servers[0].create_group(new).await.unwrap().0
}

fn change(room: &Room, actor: &User) -> Change {
    Change {
        room: room.id,
        actor: actor.id,
        actor_name: actor.name.clone(),
        at: now(),
    }
}

/// The membership changes in a room's history, oldest first.
async fn events(store: &Arc<dyn Store>, room: &Room) -> Vec<RoomEvent> {
    let mut history = store.page(room.id, None, 1000).await.unwrap();
    history.reverse();
    history
        .into_iter()
        .filter_map(|entry| entry.event)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_added_through_both_servers_at_once_joins_once() {
    let Some(servers) = two_servers("one_user_added_through_both_servers_at_once_joins_once").await
    else {
        return;
    };
    let ann = user(&servers[0], "Ann").await;
    let room = group(&servers, &ann, &[]).await;
    let newcomers = [
        user(&servers[0], "Bob").await,
        user(&servers[1], "Cid").await,
    ];
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = servers[i % 2].clone();
            let change = change(&room, &ann);
            let id = newcomers[(i / 2) % 2].id;
            tokio::spawn(async move { store.add_members(&change, &[id], 100).await.unwrap() })
        })
        .collect();
    let mut entries = 0;
    for task in tasks {
        entries += task.await.unwrap().len();
    }
    assert_eq!(entries, 2, "one Added entry per newcomer");
    for server in &servers {
        assert_eq!(server.member_count(room.id).await.unwrap(), 3);
        let added = events(server, &room)
            .await
            .into_iter()
            .filter(|event| matches!(event, RoomEvent::Added { .. }))
            .count();
        assert_eq!(added, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renames_through_both_servers_are_all_recorded_and_the_last_wins() {
    let Some(servers) =
        two_servers("renames_through_both_servers_are_all_recorded_and_the_last_wins").await
    else {
        return;
    };
    let ann = user(&servers[0], "Ann").await;
    let room = group(&servers, &ann, &[]).await;
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let store = servers[i % 2].clone();
            let change = change(&room, &ann);
            tokio::spawn(async move { store.rename(&change, &format!("name {i}")).await.unwrap() })
        })
        .collect();
    let mut renames = Vec::new();
    for task in tasks {
        renames.push(task.await.unwrap());
    }
    let seqs: HashSet<u64> = renames.iter().map(|entry| entry.seq).collect();
    assert_eq!(seqs, (2..=13).collect());
    let last = renames.iter().max_by_key(|entry| entry.seq).unwrap();
    let Some(RoomEvent::Renamed { name }) = &last.event else {
        panic!("not a rename: {last:?}");
    };
    for server in &servers {
        let read = server.room(room.id).await.unwrap().unwrap();
        assert_eq!(&read.group.unwrap().name, name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_leaving_through_both_servers_at_once_hand_over_once() {
    let Some(servers) =
        two_servers("owners_leaving_through_both_servers_at_once_hand_over_once").await
    else {
        return;
    };
    for _ in 0..5 {
        let (ann, bob, cid) = (
            user(&servers[0], "Ann").await,
            user(&servers[0], "Bob").await,
            user(&servers[1], "Cid").await,
        );
        let room = group(&servers, &ann, &[&bob, &cid]).await;
        servers[0]
            .set_role(&change(&room, &ann), bob.id, Role::Owner)
            .await
            .unwrap();
        let (a, b) = (servers[0].clone(), servers[1].clone());
        let (ann_leaves, bob_leaves) = (change(&room, &ann), change(&room, &bob));
        let (left_a, left_b) = tokio::join!(
            a.remove_member(&ann_leaves, ann.id),
            b.remove_member(&bob_leaves, bob.id)
        );
        let entries = left_a.unwrap().len() + left_b.unwrap().len();
        assert_eq!(entries, 3, "two Left entries and one hand-over");
        let member = servers[1].member(room.id, cid.id).await.unwrap().unwrap();
        assert_eq!(member.role, Role::Owner);
        let handovers = events(&servers[1], &room)
            .await
            .into_iter()
            .filter(|event| {
                *event
                    == RoomEvent::RoleChanged {
                        user_id: cid.id,
                        role: Role::Owner,
                    }
            })
            .count();
        assert_eq!(handovers, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adds_through_both_servers_never_overfill_a_group() {
    let Some(servers) = two_servers("adds_through_both_servers_never_overfill_a_group").await
    else {
        return;
    };
    let ann = user(&servers[0], "Ann").await;
    let room = group(&servers, &ann, &[]).await;
    let mut candidates = Vec::new();
    for i in 0..12 {
        candidates.push(user(&servers[i % 2], "Candidate").await);
    }
    let tasks: Vec<_> = candidates
        .iter()
        .enumerate()
        .map(|(i, candidate)| {
            let store = servers[i % 2].clone();
            let change = change(&room, &ann);
            let id = candidate.id;
            tokio::spawn(async move { store.add_members(&change, &[id], 4).await })
        })
        .collect();
    let mut added = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(entries) => added += entries.len(),
            Err(chat_core::Error::Conflict(_)) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    let count = servers[1].member_count(room.id).await.unwrap();
    assert!(count <= 4, "{count} members");
    assert_eq!(count, 1 + added);
}

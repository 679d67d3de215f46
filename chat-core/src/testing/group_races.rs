//! The group checks about races: concurrent adds, renames and appends from many writers, as
//! several servers on one database make them. Run by every backend through
//! [`store_conformance!`](crate::store_conformance).

use std::collections::HashSet;
use std::sync::Arc;

use crate::error::Error;
use crate::membership::RoomEvent;
use crate::model::{Message, now};
use crate::store::Store;
use crate::testing::fixtures::new_message;
use crate::testing::groups::{change, events, group, user, users};

/// Many processes adding one user at once: one membership, one `Added` entry.
pub async fn concurrent_adds_of_one_user_yield_one_membership(store: Arc<dyn Store>) {
    let (room, owner, _) = group(&store, 1).await;
    let newcomer = user(&store, "New").await;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            let change = change(&room, &owner, now());
            tokio::spawn(async move {
                store
                    .add_members(&change, &[newcomer.id], 100)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut entries = 0;
    for task in tasks {
        entries += task.await.unwrap().len();
    }
    assert_eq!(entries, 1);
    assert_eq!(store.member_count(room.id).await.unwrap(), 3);
    let added: Vec<_> = events(&store, room.id)
        .await
        .into_iter()
        .filter(|(_, event)| matches!(event, RoomEvent::Added { user_id, .. } if *user_id == newcomer.id))
        .collect();
    assert_eq!(added.len(), 1);
    let members = store.members(room.id, None, 100).await.unwrap();
    assert_eq!(members.len(), 3);
}

/// Racing adds of different users to a nearly full group never push it past the limit.
pub async fn concurrent_adds_never_overfill_a_group(store: Arc<dyn Store>) {
    let (room, owner, _) = group(&store, 1).await;
    let candidates = users(&store, 8).await;
    let tasks: Vec<_> = candidates
        .iter()
        .map(|candidate| {
            let store = store.clone();
            let change = change(&room, &owner, now());
            let id = candidate.id;
            tokio::spawn(async move { store.add_members(&change, &[id], 5).await })
        })
        .collect();
    let mut added = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(entries) => added += entries.len(),
            Err(Error::Conflict(_)) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    let count = store.member_count(room.id).await.unwrap();
    assert!(count <= 5, "{count} members");
    assert_eq!(count, 2 + added);
    assert_eq!(events(&store, room.id).await.len(), 1 + added);
}

/// Racing renames are all recorded, each with its own seq, and the highest seq names the group.
pub async fn concurrent_renames_are_all_recorded_and_the_last_wins(store: Arc<dyn Store>) {
    let (room, owner, _) = group(&store, 0).await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let change = change(&room, &owner, now());
            tokio::spawn(async move { store.rename(&change, &format!("name {i}")).await })
        })
        .collect();
    let mut entries: Vec<Message> = Vec::new();
    for task in tasks {
        entries.push(task.await.unwrap().unwrap());
    }
    let seqs: HashSet<u64> = entries.iter().map(|entry| entry.seq).collect();
    assert_eq!(seqs, (2..=9).collect());
    let last = entries.iter().max_by_key(|entry| entry.seq).unwrap();
    let Some(RoomEvent::Renamed { name }) = &last.event else {
        panic!("not a rename: {last:?}");
    };
    let read = store.room(room.id).await.unwrap().unwrap();
    assert_eq!(&read.group.unwrap().name, name);
    assert_eq!(events(&store, room.id).await.len(), 9);
}

/// Messages and membership changes, also racing, share the room's gapless seq line; pages
/// and lookups return both kinds.
pub async fn changes_and_messages_share_one_gapless_seq_line(store: Arc<dyn Store>) {
    let (room, owner, others) = group(&store, 1).await;
    let newcomers = users(&store, 10).await;
    let mut tasks = Vec::new();
    for (i, newcomer) in newcomers.iter().enumerate() {
        let store_a = store.clone();
        let change = change(&room, &owner, now());
        let id = newcomer.id;
        tasks.push(tokio::spawn(async move {
            store_a.add_members(&change, &[id], 100).await.unwrap()[0].seq
        }));
        let store_b = store.clone();
        let message = new_message(room.id, &others[0], &format!("m{i}"), None);
        tasks.push(tokio::spawn(async move {
            store_b.append(message).await.unwrap().message.seq
        }));
    }
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (2..=21).collect::<Vec<u64>>());
    let history = store.page(room.id, None, 100).await.unwrap();
    assert_eq!(history.len(), 21);
    assert_eq!(history.iter().filter(|m| m.event.is_some()).count(), 11);
    assert!(
        history
            .iter()
            .filter(|m| m.event.is_some())
            .all(|m| m.text.is_empty() && m.client_id.is_none())
    );
    let change_entry = history.iter().find(|m| m.event.is_some()).unwrap();
    assert_eq!(
        store.message(change_entry.id).await.unwrap().as_ref(),
        Some(change_entry)
    );
    let next = store
        .append(new_message(room.id, &others[0], "after", Some("c1")))
        .await
        .unwrap();
    assert_eq!(next.message.seq, 22);
    assert_eq!(next.message.event, None);
}

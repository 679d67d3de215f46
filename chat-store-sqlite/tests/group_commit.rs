//! Group commit under load: many concurrent writers are all acknowledged with gapless seqs,
//! and a write that fails inside a group never takes the rest of its group down.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chat_core::Error;
use chat_core::id::{MessageId, RoomId, UserId};
use chat_core::model::{NewUser, User, now};
use chat_core::store::{MessageStore, RoomStore, UserStore};
use chat_core::testing::fixtures::{new_message, new_user};
use chat_store_sqlite::SqliteStore;

/// 2,000 appends from 50 tasks into 5 rooms: every one is acknowledged, and each room's seqs
/// are exactly 1..=400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_all_acknowledged_with_gapless_seqs() {
    const TASKS: usize = 50;
    const PER_TASK: usize = 40;
    const ROOMS: usize = 5;
    let store = Arc::new(SqliteStore::open_temp().unwrap());
    let ann = store.create_user(new_user("Ann")).await.unwrap();
    let mut rooms = Vec::new();
    for i in 0..ROOMS {
        let other = store.create_user(new_user(&format!("U{i}"))).await.unwrap();
        rooms.push(store.direct_room(ann.id, other.id, now()).await.unwrap().id);
    }

    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = Arc::clone(&store);
            let ann = ann.clone();
            let room = rooms[task % ROOMS];
            tokio::spawn(async move {
                let mut seqs = Vec::with_capacity(PER_TASK);
                for i in 0..PER_TASK {
                    let message = new_message(room, &ann, &format!("t{task} m{i}"), None);
                    seqs.push(store.append(message).await.unwrap().message.seq);
                }
                (room, seqs)
            })
        })
        .collect();
    let mut by_room: BTreeMap<RoomId, Vec<u64>> = BTreeMap::new();
    for task in tasks {
        let (room, seqs) = task.await.unwrap();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "one task's seqs go up"
        );
        by_room.entry(room).or_default().extend(seqs);
    }
    eprintln!(
        "{} acknowledged appends in {:?}",
        TASKS * PER_TASK,
        started.elapsed()
    );

    let per_room = (TASKS * PER_TASK / ROOMS) as u64;
    assert_eq!(by_room.len(), ROOMS);
    for (room, mut seqs) in by_room {
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=per_room).collect::<Vec<u64>>());
        let newest = store.page(room, None, 1).await.unwrap();
        assert_eq!(newest[0].seq, per_room);
        let stored = store.room(room).await.unwrap().unwrap();
        assert_eq!(stored.last_message.as_ref(), newest.first());
    }
}

/// Appends to a missing room, appends whose insert fails (a sender who is no user: the
/// foreign key), duplicate registrations and resends race with good appends in the same
/// groups: each gets its own answer, a failed insert leaves no trace, and the good writes all
/// commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_inside_a_group_leave_the_rest_committed() {
    let store = Arc::new(SqliteStore::open_temp().unwrap());
    let ann = store.create_user(new_user("Ann")).await.unwrap();
    let bob = store.create_user(new_user("Bob")).await.unwrap();
    let room = store.direct_room(ann.id, bob.id, now()).await.unwrap().id;
    let taken = new_user("Taken");
    store.create_user(taken.clone()).await.unwrap();
    let stranger = User {
        id: UserId::generate(),
        email: "stranger@example.com".into(),
        name: "Stranger".into(),
        created_at: now(),
    };

    #[derive(Debug)]
    enum Outcome {
        Appended(u64, bool, MessageId),
        NotFound,
        Conflict,
    }
    let tasks: Vec<_> = (0..300)
        .map(|i| {
            let store = Arc::clone(&store);
            let (ann, taken, stranger) = (ann.clone(), taken.clone(), stranger.clone());
            tokio::spawn(async move {
                let result = match (i % 3, i / 3 % 3) {
                    (0, _) => store
                        .append(new_message(room, &ann, &format!("m{i}"), None))
                        .await
                        .map(|a| Outcome::Appended(a.message.seq, a.created, a.message.id)),
                    (1, 0) => store
                        .append(new_message(RoomId::generate(), &ann, "x", None))
                        .await
                        .map(|a| Outcome::Appended(a.message.seq, a.created, a.message.id)),
                    (1, 1) => store
                        .append(new_message(room, &stranger, "x", None))
                        .await
                        .map(|a| Outcome::Appended(a.message.seq, a.created, a.message.id)),
                    (1, _) => store
                        .create_user(NewUser {
                            id: UserId::generate(),
                            ..taken
                        })
                        .await
                        .map(|_| panic!("a taken email was registered again")),
                    (_, _) => store
                        .append(new_message(
                            room,
                            &ann,
                            &format!("resend {i}"),
                            Some("same"),
                        ))
                        .await
                        .map(|a| Outcome::Appended(a.message.seq, a.created, a.message.id)),
                };
                match result {
                    Ok(outcome) => outcome,
                    Err(Error::NotFound(_)) => Outcome::NotFound,
                    Err(Error::Conflict(_)) => Outcome::Conflict,
                    Err(other) => panic!("unexpected error {other:?}"),
                }
            })
        })
        .collect();

    let (mut seqs, mut resends, mut created_resends) = (Vec::new(), HashSet::new(), 0);
    let (mut not_found, mut conflicts) = (0, 0);
    for (i, task) in tasks.into_iter().enumerate() {
        match (i % 3, task.await.unwrap()) {
            (0, Outcome::Appended(seq, true, _)) => seqs.push(seq),
            (2, Outcome::Appended(seq, created, id)) => {
                resends.insert((seq, id));
                if created {
                    created_resends += 1;
                    seqs.push(seq);
                }
            }
            (1, Outcome::NotFound) => not_found += 1,
            (1, Outcome::Conflict) => conflicts += 1,
            (kind, outcome) => panic!("task kind {kind} got {outcome:?}"),
        }
    }
    let refused_kinds = (0..300).filter(|i| i % 3 == 1).map(|i| i / 3 % 3);
    let taken_emails = refused_kinds.clone().filter(|&kind| kind == 2).count();
    assert_eq!(
        (not_found, conflicts),
        (refused_kinds.count() - taken_emails, taken_emails)
    );
    assert_eq!(
        created_resends, 1,
        "one resend stores, the others get the original"
    );
    assert_eq!(resends.len(), 1, "every resend sees the same original");
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=101).collect::<Vec<u64>>());
    assert_eq!(store.page(room, None, 1000).await.unwrap().len(), 101);
}

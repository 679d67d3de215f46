//! The store checks: one public async function per promise of the storage traits.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::Duration;

use crate::error::Error;
use crate::id::{MessageId, RoomId, UserId};
use crate::model::{Message, NewUser, Room, User, now};
use crate::store::Store;
use crate::testing::fixtures::{self, new_message};

/// Lets the conformance macro accept a store or an optional one.
pub trait IntoStoreOption {
    /// `None` means "skip: backend not configured".
    fn into_store_option(self) -> Option<Arc<dyn Store>>;
}

impl IntoStoreOption for Arc<dyn Store> {
    fn into_store_option(self) -> Option<Arc<dyn Store>> {
        Some(self)
    }
}

impl IntoStoreOption for Option<Arc<dyn Store>> {
    fn into_store_option(self) -> Option<Arc<dyn Store>> {
        self
    }
}

/// Used by the macro.
pub fn into_option(value: impl IntoStoreOption) -> Option<Arc<dyn Store>> {
    value.into_store_option()
}

fn new_user(email: &str, name: &str) -> NewUser {
    NewUser {
        email: email.into(),
        ..fixtures::new_user(name)
    }
}

async fn user(store: &Arc<dyn Store>, name: &str) -> User {
    fixtures::user(store.as_ref(), name).await
}

async fn room(store: &Arc<dyn Store>) -> (Room, User, User) {
    let (a, b) = (user(store, "Ann").await, user(store, "Bob").await);
    let room = store.direct_room(a.id, b.id, now()).await.unwrap();
    (room, a, b)
}

async fn send(store: &Arc<dyn Store>, room: RoomId, sender: &User, text: &str) -> Message {
    let appended = store
        .append(new_message(room, sender, text, None))
        .await
        .unwrap();
    assert!(appended.created);
    appended.message
}

/// A second user with the same email is a conflict, and the first one is untouched.
pub async fn users_are_unique_by_email(store: Arc<dyn Store>) {
    let email = format!("dup-{}@example.com", UserId::generate());
    let first = store.create_user(new_user(&email, "First")).await.unwrap();
    let second = store.create_user(new_user(&email, "Second")).await;
    assert!(matches!(second, Err(Error::Conflict(_))), "{second:?}");
    let credentials = store.credentials(&email).await.unwrap().unwrap();
    assert_eq!(credentials.user, first);
    assert_eq!(credentials.password_hash, "$argon2id$fake");
}

/// Racing registrations of one email: exactly one wins.
pub async fn concurrent_registrations_of_one_email_yield_one_user(store: Arc<dyn Store>) {
    let email = format!("race-{}@example.com", UserId::generate());
    let attempts = (0..8).map(|i| {
        let store = store.clone();
        let email = email.clone();
        tokio::spawn(async move { store.create_user(new_user(&email, &format!("U{i}"))).await })
    });
    let mut created = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => created += 1,
            Err(Error::Conflict(_)) => {}
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(created, 1);
}

/// Users come back by id, in bulk, by email, and through search (never the excluded one).
pub async fn users_are_found_by_id_email_and_search(store: Arc<dyn Store>) {
    let tag = UserId::generate().to_string();
    let ann = user(&store, &format!("Ann{tag}")).await;
    let bob = user(&store, &format!("Bob{tag}")).await;
    let cid = user(&store, &format!("Cid{tag}")).await;
    assert_eq!(store.user(ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(store.user(UserId::generate()).await.unwrap(), None);
    let mut bulk = store
        .users(&[bob.id, UserId::generate(), ann.id])
        .await
        .unwrap();
    bulk.sort_by_key(|user| user.name.clone());
    assert_eq!(bulk, vec![ann.clone(), bob.clone()]);
    assert!(
        store
            .credentials("nobody@example.com")
            .await
            .unwrap()
            .is_none()
    );

    let found = store.search_users(Some(&tag), ann.id, 10).await.unwrap();
    assert_eq!(found, vec![bob.clone(), cid.clone()]);
    let upper = store
        .search_users(Some(&format!("BOB{}", tag.to_uppercase())), ann.id, 10)
        .await
        .unwrap();
    assert_eq!(upper, vec![bob.clone()]);
    let limited = store.search_users(Some(&tag), ann.id, 1).await.unwrap();
    assert_eq!(limited, vec![bob]);
    let everyone = store.search_users(None, ann.id, 10_000).await.unwrap();
    assert!(everyone.iter().all(|user| user.id != ann.id));
    assert!(everyone.contains(&cid));
}

/// Search text with regex or query syntax is matched literally.
pub async fn search_treats_operators_as_text(store: Arc<dyn Store>) {
    let me = user(&store, "Me").await;
    let odd = user(&store, &format!("a.*$gt{{}}[x]{}", UserId::generate())).await;
    for needle in [".*", "$gt", "{}", "[x]", "%", "_"] {
        let found = store
            .search_users(Some(needle), me.id, 10_000)
            .await
            .unwrap();
        assert!(
            found.iter().all(
                |user| user.name.to_lowercase().contains(needle) || user.email.contains(needle)
            ),
            "{needle:?} matched as a pattern"
        );
        if needle != "%" && needle != "_" {
            assert!(found.contains(&odd), "{needle:?} did not match literally");
        }
    }
}

/// A bulk import with one duplicate stores none of its users.
pub async fn bulk_user_creation_is_all_or_nothing(store: Arc<dyn Store>) {
    let tag = UserId::generate();
    let existing = user(&store, "Existing").await;
    let batch = vec![
        new_user(&format!("a-{tag}@example.com"), "A"),
        new_user(&existing.email, "Dup"),
    ];
    assert!(matches!(
        store.create_users(batch).await,
        Err(Error::Conflict(_))
    ));
    assert!(
        store
            .credentials(&format!("a-{tag}@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    let batch: Vec<NewUser> = (0..50)
        .map(|i| new_user(&format!("bulk{i}-{tag}@example.com"), &format!("B{i}")))
        .collect();
    let ids: Vec<UserId> = batch.iter().map(|user| user.id).collect();
    assert_eq!(store.create_users(batch).await.unwrap().len(), 50);
    assert_eq!(store.users(&ids).await.unwrap().len(), 50);
}

/// One room per unordered pair, whichever side asks.
pub async fn direct_rooms_are_one_per_pair(store: Arc<dyn Store>) {
    let (room, a, b) = room(&store).await;
    assert_eq!(room.members.len(), 2);
    assert!(room.is_member(a.id) && room.is_member(b.id));
    let again = store.direct_room(b.id, a.id, now()).await.unwrap();
    assert_eq!(again.id, room.id);
    assert_eq!(store.room(room.id).await.unwrap().unwrap().id, room.id);
    assert_eq!(store.room(RoomId::generate()).await.unwrap(), None);
    let c = user(&store, "Cid").await;
    let other = store.direct_room(a.id, c.id, now()).await.unwrap();
    assert_ne!(other.id, room.id);
}

/// Racing creations of one pair's room yield one room.
pub async fn concurrent_direct_rooms_yield_one_room(store: Arc<dyn Store>) {
    let (a, b) = (user(&store, "Ann").await, user(&store, "Bob").await);
    let attempts: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let (x, y) = if i % 2 == 0 {
                (a.id, b.id)
            } else {
                (b.id, a.id)
            };
            tokio::spawn(async move { store.direct_room(x, y, now()).await.unwrap().id })
        })
        .collect();
    let mut ids = HashSet::new();
    for attempt in attempts {
        ids.insert(attempt.await.unwrap());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(store.rooms_of(a.id, 100).await.unwrap().len(), 1);
}

/// A user's rooms come newest activity first, with their last message.
pub async fn rooms_are_listed_by_recent_activity(store: Arc<dyn Store>) {
    let me = user(&store, "Me").await;
    let (x, y) = (user(&store, "X").await, user(&store, "Y").await);
    let t0 = now() - Duration::seconds(60);
    let first = store.direct_room(me.id, x.id, t0).await.unwrap();
    let second = store
        .direct_room(me.id, y.id, t0 + Duration::seconds(1))
        .await
        .unwrap();
    let listed: Vec<RoomId> = store
        .rooms_of(me.id, 10)
        .await
        .unwrap()
        .iter()
        .map(|room| room.id)
        .collect();
    assert_eq!(listed, vec![second.id, first.id]);
    let last = send(&store, first.id, &x, "newest").await;
    let rooms = store.rooms_of(me.id, 10).await.unwrap();
    assert_eq!(rooms[0].id, first.id);
    assert_eq!(rooms[0].last_message.as_ref(), Some(&last));
    assert_eq!(rooms[1].last_message, None);
    assert_eq!(store.rooms_of(me.id, 1).await.unwrap().len(), 1);
    assert!(
        store
            .rooms_of(UserId::generate(), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Seqs run 1, 2, 3… per room, independently in each room.
pub async fn seq_is_gapless_per_room(store: Arc<dyn Store>) {
    let (one, a, _) = room(&store).await;
    let (two, c, _) = room(&store).await;
    for expected in 1..=5 {
        assert_eq!(send(&store, one.id, &a, "x").await.seq, expected);
    }
    assert_eq!(send(&store, two.id, &c, "y").await.seq, 1);
}

/// Concurrent appends to one room get distinct seqs covering 1..=n.
pub async fn concurrent_appends_get_distinct_gapless_seqs(store: Arc<dyn Store>) {
    let (room, a, b) = room(&store).await;
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let store = store.clone();
            let sender = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                store
                    .append(new_message(room.id, &sender, &format!("m{i}"), None))
                    .await
                    .unwrap()
                    .message
                    .seq
            })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort();
    assert_eq!(seqs, (1..=40).collect::<Vec<u64>>());
}

/// The same (room, sender, client_id) stores once; other senders or rooms are independent.
pub async fn resends_with_a_client_id_are_idempotent(store: Arc<dyn Store>) {
    let (room, a, b) = room(&store).await;
    let first = store
        .append(new_message(room.id, &a, "hello", Some("c1")))
        .await
        .unwrap();
    assert!(first.created);
    let again = store
        .append(new_message(room.id, &a, "hello again", Some("c1")))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.message, first.message);
    let other_sender = store
        .append(new_message(room.id, &b, "hi", Some("c1")))
        .await
        .unwrap();
    assert!(other_sender.created);
    assert_eq!(other_sender.message.seq, 2);
    let page = store.page(room.id, None, 10).await.unwrap();
    assert_eq!(page.len(), 2);
}

/// A resend is recognized behind newer messages of its room, keyed or not, from either
/// member, as long as its original is within [`crate::store::RESEND_WINDOW_ENTRIES`].
pub async fn resends_are_recognized_behind_newer_messages(store: Arc<dyn Store>) {
    let (room, a, b) = room(&store).await;
    let original = store
        .append(new_message(room.id, &a, "first", Some("k")))
        .await
        .unwrap();
    for i in 0..40 {
        let (sender, key) = match i % 3 {
            0 => (&a, None),
            1 => (&b, Some(format!("b{i}"))),
            _ => (&a, Some(format!("a{i}"))),
        };
        let sent = store
            .append(new_message(room.id, sender, "newer", key.as_deref()))
            .await
            .unwrap();
        assert!(sent.created);
    }
    let again = store
        .append(new_message(room.id, &a, "first, resent", Some("k")))
        .await
        .unwrap();
    assert!(!again.created);
    assert_eq!(again.message, original.message);
    let from_b = store
        .append(new_message(room.id, &b, "b's own k", Some("k")))
        .await
        .unwrap();
    assert!(from_b.created);
    assert_eq!(from_b.message.seq, 42);
}

/// Messages without a client_id never collide with each other.
pub async fn messages_without_client_id_are_all_kept(store: Arc<dyn Store>) {
    let (room, a, _) = room(&store).await;
    for _ in 0..3 {
        send(&store, room.id, &a, "same text").await;
    }
    assert_eq!(store.page(room.id, None, 10).await.unwrap().len(), 3);
}

/// Walking pages by the last seq visits every message once, newest first.
pub async fn pages_walk_history_without_gaps_or_repeats(store: Arc<dyn Store>) {
    let (room, a, _) = room(&store).await;
    for i in 1..=23 {
        send(&store, room.id, &a, &format!("m{i}")).await;
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = store.page(room.id, before, 5).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 5);
        assert!(page.windows(2).all(|w| w[0].seq > w[1].seq));
        before = page.last().map(|m| m.seq);
        seen.extend(page.into_iter().map(|m| m.seq));
    }
    assert_eq!(seen, (1..=23).rev().collect::<Vec<u64>>());
    let empty_room = store.page(RoomId::generate(), None, 5).await.unwrap();
    assert!(empty_room.is_empty());
    assert_eq!(store.page(room.id, Some(1), 5).await.unwrap(), vec![]);
}

/// A message is found by id; unknown ids are `None`.
pub async fn messages_are_found_by_id(store: Arc<dyn Store>) {
    let (room, a, _) = room(&store).await;
    let sent = send(&store, room.id, &a, "find me").await;
    assert_eq!(store.message(sent.id).await.unwrap(), Some(sent));
    assert_eq!(store.message(MessageId::generate()).await.unwrap(), None);
}

/// Appending to a room that does not exist is `NotFound` and stores nothing.
pub async fn appending_to_an_unknown_room_is_not_found(store: Arc<dyn Store>) {
    let a = user(&store, "Ann").await;
    let ghost = RoomId::generate();
    let result = store.append(new_message(ghost, &a, "x", None)).await;
    assert!(matches!(result, Err(Error::NotFound(_))), "{result:?}");
    assert!(store.page(ghost, None, 5).await.unwrap().is_empty());
}

/// Unicode text, names, client ids and millisecond timestamps come back exactly.
pub async fn text_and_timestamps_round_trip_exactly(store: Arc<dyn Store>) {
    let (room, a, _) = room(&store).await;
    let text = "héllo 👋 \"quoted\" {\"$gt\": \"\"} \n second line \u{0}";
    let mut message = new_message(room.id, &a, text, Some("ü-1"));
    message.timestamp = now() - Duration::milliseconds(1234);
    let stored = store.append(message.clone()).await.unwrap().message;
    let read = store.page(room.id, None, 1).await.unwrap().remove(0);
    assert_eq!(read, stored);
    assert_eq!(read.text, text);
    assert_eq!(read.timestamp, message.timestamp);
    assert_eq!(read.client_id.as_deref(), Some("ü-1"));
    assert_eq!(read.sender_name, "Ann");
}

/// The write probe succeeds on a healthy store, again and again, and leaves no user, room or
/// message behind.
pub async fn write_probes_succeed_and_store_nothing_visible(store: Arc<dyn Store>) {
    for _ in 0..3 {
        store.probe_write().await.unwrap();
    }
    let anyone = UserId::generate();
    assert!(
        store
            .search_users(None, anyone, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.rooms_of(anyone, 10).await.unwrap().is_empty());
    let a = user(&store, "Ann").await;
    store.probe_write().await.unwrap();
    assert_eq!(store.search_users(None, anyone, 10).await.unwrap(), vec![a]);
}

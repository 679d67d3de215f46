//! Sending to, reading and delivering group rooms on one engine over the memory store:
//! members send and read, membership changes reach every member's sockets in seq order with
//! the messages, a removed member gets its removal once and nothing after it, and a
//! 200-member room delivers each message to every member once, in order.

use std::sync::Arc;
use std::time::Duration;

use chat_core::event::ServerEvent;
use chat_core::hub::Next;
use chat_core::limits::Quota;
use chat_core::membership::RoomEvent;
use chat_core::memory::{MemoryBusNetwork, MemoryStore};
use chat_core::model::{Message, User};
use chat_core::store::Store;
use chat_core::testing::fixtures;
use chat_core::{Connection, Engine, EngineConfig, Error, RoomId, TokenKeys, UserId};

/// How long a test waits for an event that must come.
const PATIENCE: Duration = Duration::from_secs(5);
/// How long a test waits to be sure an event does not come.
const QUIET: Duration = Duration::from_millis(200);

struct World {
    engine: Engine,
    store: Arc<dyn Store>,
}

fn config() -> EngineConfig {
    EngineConfig {
        quota: Quota {
            per_second: 100_000,
            burst: 100_000,
        },
        ..EngineConfig::default()
    }
}

impl World {
    fn new() -> World {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let engine = Engine::builder(store.clone(), TokenKeys::from_secret(b"group delivery"))
            .config(config())
            .build();
        World { engine, store }
    }

    /// A node over `store`, relaying through `network`.
    fn on(network: &MemoryBusNetwork, store: &Arc<dyn Store>) -> Engine {
        Engine::builder(store.clone(), TokenKeys::from_secret(b"group delivery"))
            .bus(Arc::new(network.attach()))
            .config(config())
            .build()
    }

    async fn users(&self, count: usize) -> Vec<User> {
        let mut users = Vec::with_capacity(count);
        for index in 0..count {
            users.push(fixtures::user(self.store.as_ref(), &format!("User{index}")).await);
        }
        users
    }

    async fn group(&self, owner: &User, members: &[User]) -> RoomId {
        let ids: Vec<UserId> = members.iter().map(|user| user.id).collect();
        self.engine
            .create_group(owner.id, "Team", &ids)
            .await
            .unwrap()
            .room
            .id
    }
}

/// The next timeline entry on `socket`, skipping presence events.
async fn next_entry(socket: &mut Connection) -> Message {
    loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await {
            Ok(Next::Event(delivery)) => match delivery.event() {
                ServerEvent::Message(message) => return message.clone(),
                ServerEvent::Presence { .. } => continue,
                other => panic!("expected a timeline entry, got {other:?}"),
            },
            Ok(other) => panic!("socket ended: {other:?}"),
            Err(_) => panic!("nothing within {PATIENCE:?}"),
        }
    }
}

/// The next presence event on `socket`, skipping timeline entries.
async fn next_presence(socket: &mut Connection) -> (UserId, bool) {
    loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await {
            Ok(Next::Event(delivery)) => {
                if let ServerEvent::Presence { user_id, online } = delivery.event() {
                    return (*user_id, *online);
                }
            }
            Ok(other) => panic!("socket ended: {other:?}"),
            Err(_) => panic!("no presence within {PATIENCE:?}"),
        }
    }
}

/// Asserts that no timeline entry arrives on `socket` for a while; presence may.
async fn silent(socket: &mut Connection) {
    tokio::time::sleep(QUIET).await;
    while let Some(delivery) = socket.try_next() {
        assert!(
            matches!(delivery.event(), ServerEvent::Presence { .. }),
            "expected nothing, got {:?}",
            delivery.event()
        );
    }
}

#[tokio::test]
async fn group_co_members_hear_each_other_come_online_and_go_offline() {
    let world = World::new();
    let users = world.users(3).await;
    let (ann, bob, eve) = (&users[0], &users[1], &users[2]);
    world.group(ann, std::slice::from_ref(bob)).await;
    let mut ann_socket = world.engine.connect(ann.clone()).await.unwrap();
    let mut eve_socket = world.engine.connect(eve.clone()).await.unwrap();

    let bob_socket = world.engine.connect(bob.clone()).await.unwrap();
    assert_eq!(next_presence(&mut ann_socket).await, (bob.id, true));
    drop(bob_socket);
    assert_eq!(next_presence(&mut ann_socket).await, (bob.id, false));
    tokio::time::sleep(QUIET).await;
    assert!(
        eve_socket.try_next().is_none(),
        "a user outside the group hears nothing"
    );
}

#[tokio::test]
async fn members_send_and_read_and_others_are_refused() {
    let world = World::new();
    let users = world.users(3).await;
    let (ann, bob, eve) = (&users[0], &users[1], &users[2]);
    let room = world.group(ann, std::slice::from_ref(bob)).await;

    let sent = world
        .engine
        .send(bob, room, "hello team", None)
        .await
        .unwrap();
    assert_eq!(sent.seq, 2, "seq 1 is the Created entry");
    let page = world.engine.history(ann, room, None, 10).await.unwrap();
    assert_eq!(page.len(), 2);
    assert_eq!(page[0].text, "hello team");
    assert!(matches!(page[1].event, Some(RoomEvent::Created { .. })));

    let again = world
        .engine
        .send(bob, room, "hello team", Some("c-1"))
        .await
        .unwrap();
    let resent = world
        .engine
        .send(bob, room, "hello team", Some("c-1"))
        .await
        .unwrap();
    assert_eq!(again.id, resent.id, "client_id makes resends idempotent");

    for result in [
        world
            .engine
            .send(eve, room, "let me in", None)
            .await
            .map(drop),
        world.engine.history(eve, room, None, 10).await.map(drop),
    ] {
        assert!(matches!(result, Err(Error::Forbidden(_))), "{result:?}");
    }
}

#[tokio::test]
async fn membership_changes_reach_members_in_order_with_messages() {
    let world = World::new();
    let users = world.users(3).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let room = world.group(ann, std::slice::from_ref(bob)).await;
    let mut ann_socket = world.engine.connect(ann.clone()).await.unwrap();
    let mut cat_socket = world.engine.connect(cat.clone()).await.unwrap();

    world.engine.send(ann, room, "before", None).await.unwrap();
    world
        .engine
        .add_members(ann.id, room, &[cat.id])
        .await
        .unwrap();
    world.engine.send(bob, room, "welcome", None).await.unwrap();
    world
        .engine
        .rename_group(ann.id, room, "Crew")
        .await
        .unwrap();

    let seen: Vec<Message> = [
        next_entry(&mut ann_socket).await,
        next_entry(&mut ann_socket).await,
        next_entry(&mut ann_socket).await,
        next_entry(&mut ann_socket).await,
    ]
    .into();
    assert_eq!(
        seen.iter().map(|entry| entry.seq).collect::<Vec<_>>(),
        [2, 3, 4, 5]
    );
    assert_eq!(
        seen[1].event,
        Some(RoomEvent::Added {
            user_id: cat.id,
            role: chat_core::membership::Role::Member
        })
    );
    assert_eq!(
        seen[3].event,
        Some(RoomEvent::Renamed {
            name: "Crew".into()
        })
    );

    let added = next_entry(&mut cat_socket).await;
    assert_eq!(added.seq, 3, "the added user hears of its own addition");
    assert_eq!(next_entry(&mut cat_socket).await.text, "welcome");
    assert_eq!(next_entry(&mut cat_socket).await.seq, 5);
    silent(&mut cat_socket).await;
}

#[tokio::test]
async fn removal_cuts_delivery_off_at_once() {
    let world = World::new();
    let users = world.users(3).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let room = world.group(ann, &[bob.clone(), cat.clone()]).await;
    let mut bob_socket = world.engine.connect(bob.clone()).await.unwrap();
    let mut cat_socket = world.engine.connect(cat.clone()).await.unwrap();

    world.engine.send(ann, room, "one", None).await.unwrap();
    assert_eq!(next_entry(&mut bob_socket).await.text, "one");
    assert_eq!(next_entry(&mut cat_socket).await.text, "one");

    world
        .engine
        .remove_member(ann.id, room, bob.id)
        .await
        .unwrap();
    let farewell = next_entry(&mut bob_socket).await;
    assert_eq!(farewell.event, Some(RoomEvent::Removed { user_id: bob.id }));
    assert_eq!(
        next_entry(&mut cat_socket).await.event,
        Some(RoomEvent::Removed { user_id: bob.id })
    );

    world.engine.send(ann, room, "two", None).await.unwrap();
    assert_eq!(next_entry(&mut cat_socket).await.text, "two");
    silent(&mut bob_socket).await;
    for result in [
        world
            .engine
            .send(bob, room, "still here?", None)
            .await
            .map(drop),
        world.engine.history(bob, room, None, 10).await.map(drop),
    ] {
        assert!(matches!(result, Err(Error::Forbidden(_))), "{result:?}");
    }

    world
        .engine
        .remove_member(cat.id, room, cat.id)
        .await
        .unwrap();
    assert_eq!(
        next_entry(&mut cat_socket).await.event,
        Some(RoomEvent::Left { user_id: cat.id })
    );
    world.engine.send(ann, room, "three", None).await.unwrap();
    silent(&mut cat_socket).await;
}

#[tokio::test]
async fn a_leaving_owner_is_told_once_and_not_of_the_hand_over() {
    let world = World::new();
    let users = world.users(2).await;
    let (ann, bob) = (&users[0], &users[1]);
    let room = world.group(ann, std::slice::from_ref(bob)).await;
    let mut ann_socket = world.engine.connect(ann.clone()).await.unwrap();
    let mut bob_socket = world.engine.connect(bob.clone()).await.unwrap();

    world
        .engine
        .remove_member(ann.id, room, ann.id)
        .await
        .unwrap();
    assert_eq!(
        next_entry(&mut ann_socket).await.event,
        Some(RoomEvent::Left { user_id: ann.id })
    );
    silent(&mut ann_socket).await;
    assert_eq!(
        next_entry(&mut bob_socket).await.event,
        Some(RoomEvent::Left { user_id: ann.id })
    );
    assert_eq!(
        next_entry(&mut bob_socket).await.event,
        Some(RoomEvent::RoleChanged {
            user_id: bob.id,
            role: chat_core::membership::Role::Owner
        })
    );
}

#[tokio::test]
async fn every_member_of_a_200_member_group_gets_each_message_once_in_order() {
    const MEMBERS: usize = 200;
    const MESSAGES: usize = 20;
    let world = World::new();
    let users = world.users(MEMBERS).await;
    let room = world.group(&users[0], &users[1..]).await;
    let mut sockets = Vec::with_capacity(MEMBERS);
    for user in &users {
        sockets.push(world.engine.connect(user.clone()).await.unwrap());
    }

    let mut sends = tokio::task::JoinSet::new();
    for (index, sender) in users.iter().take(MESSAGES).cloned().enumerate() {
        let engine = world.engine.clone();
        sends.spawn(async move {
            engine
                .send(&sender, room, &format!("m{index}"), None)
                .await
                .unwrap();
        });
    }
    while let Some(sent) = sends.join_next().await {
        sent.unwrap();
    }

    let expected: Vec<u64> = (2..2 + MESSAGES as u64).collect();
    for socket in &mut sockets {
        let mut seqs = Vec::with_capacity(MESSAGES);
        for _ in 0..MESSAGES {
            seqs.push(next_entry(socket).await.seq);
        }
        assert_eq!(seqs, expected);
    }
    for socket in &mut sockets {
        assert!(socket.try_next().is_none(), "a message came twice");
    }
}

#[tokio::test]
async fn a_removal_on_one_node_cuts_off_sends_from_another() {
    let network = MemoryBusNetwork::new();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (left, right) = (World::on(&network, &store), World::on(&network, &store));
    let world = World {
        engine: left.clone(),
        store: store.clone(),
    };
    let users = world.users(3).await;
    let (ann, bob, cat) = (&users[0], &users[1], &users[2]);
    let room = world.group(ann, &[bob.clone(), cat.clone()]).await;
    let mut bob_socket = left.connect(bob.clone()).await.unwrap();
    let mut cat_socket = left.connect(cat.clone()).await.unwrap();

    right.send(ann, room, "across", None).await.unwrap();
    assert_eq!(next_entry(&mut bob_socket).await.text, "across");
    assert_eq!(next_entry(&mut cat_socket).await.text, "across");

    right.remove_member(ann.id, room, bob.id).await.unwrap();
    assert_eq!(
        next_entry(&mut bob_socket).await.event,
        Some(RoomEvent::Removed { user_id: bob.id })
    );
    assert_eq!(next_entry(&mut cat_socket).await.seq, 3);
    left.send(cat, room, "after", None).await.unwrap();
    assert_eq!(next_entry(&mut cat_socket).await.text, "after");
    silent(&mut bob_socket).await;
    let refused = left.send(bob, room, "me too", None).await;
    assert!(matches!(refused, Err(Error::Forbidden(_))), "{refused:?}");
}

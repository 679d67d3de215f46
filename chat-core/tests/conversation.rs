//! The engine's conversation rules on the memory store: who hears read receipts in small and
//! big rooms, the typing throttle, who may delete in a group, and where an added member's read
//! position starts.

use std::sync::Arc;
use std::time::Duration;

use chat_core::event::ServerEvent;
use chat_core::hub::Next;
use chat_core::membership::Role;
use chat_core::memory::MemoryStore;
use chat_core::model::User;
use chat_core::store::Store;
use chat_core::testing::fixtures;
use chat_core::{Connection, Engine, EngineConfig, RECEIPT_ROOM_LIMIT, TokenKeys, UserId};

struct World {
    engine: Engine,
    store: Arc<dyn Store>,
}

impl World {
    fn new() -> World {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let engine = Engine::builder(store.clone(), TokenKeys::from_secret(b"conversation"))
            .config(EngineConfig::default())
            .build();
        World { engine, store }
    }

    async fn users(&self, n: usize) -> Vec<User> {
        let mut users = Vec::new();
        for i in 0..n {
            users.push(fixtures::user(self.store.as_ref(), &format!("U{i}")).await);
        }
        users
    }
}

/// The next receipt or typing notice on `socket`, skipping everything else; `None` after
/// `wait`.
async fn next_notice(socket: &mut Connection, wait: Duration) -> Option<ServerEvent> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Ok(Next::Event(delivery)) => match delivery.event() {
                event @ (ServerEvent::Read { .. } | ServerEvent::Typing { .. }) => {
                    return Some(event.clone());
                }
                _ => continue,
            },
            _ => return None,
        }
    }
}

const QUIET: Duration = Duration::from_millis(200);
const PATIENCE: Duration = Duration::from_secs(5);

#[tokio::test]
async fn small_rooms_hear_every_receipt_and_big_rooms_only_the_author() {
    let world = World::new();
    for size in [3, RECEIPT_ROOM_LIMIT + 1] {
        let users = world.users(size).await;
        let ids: Vec<UserId> = users[1..].iter().map(|user| user.id).collect();
        let (owner, author, reader, bystander) =
            (&users[0], &users[1], &users[2], &users[size - 1]);
        let room = world
            .engine
            .create_group(owner.id, "Team", &ids)
            .await
            .unwrap()
            .room
            .id;
        let mut author_socket = world.engine.connect(author.clone()).await.unwrap();
        let mut bystander_socket = world.engine.connect(bystander.clone()).await.unwrap();
        let sent = world.engine.send(author, room, "hi", None).await.unwrap();
        assert_eq!(
            world
                .engine
                .mark_read(reader, room, sent.seq)
                .await
                .unwrap(),
            sent.seq
        );
        let receipt = next_notice(&mut author_socket, PATIENCE).await;
        assert!(
            matches!(receipt, Some(ServerEvent::Read { user_id, seq, .. }) if user_id == reader.id && seq == sent.seq),
            "{receipt:?}"
        );
        let heard = next_notice(&mut bystander_socket, QUIET).await;
        assert_eq!(
            heard.is_some(),
            size <= RECEIPT_ROOM_LIMIT,
            "size {size}: {heard:?}"
        );
        let positions = world.engine.read_positions(owner.id, room).await.unwrap();
        let expected = if size <= RECEIPT_ROOM_LIMIT { size } else { 1 };
        assert_eq!(positions.len(), expected);
    }
}

#[tokio::test]
async fn typing_is_throttled_per_user_and_room() {
    let world = World::new();
    let users = world.users(2).await;
    let room = world
        .engine
        .open_direct(users[0].id, users[1].id)
        .await
        .unwrap()
        .room
        .id;
    let mut other = world.engine.connect(users[1].clone()).await.unwrap();
    assert!(world.engine.typing(&users[0], room).await.unwrap());
    assert!(!world.engine.typing(&users[0], room).await.unwrap());
    assert!(matches!(
        next_notice(&mut other, PATIENCE).await,
        Some(ServerEvent::Typing { user_id, .. }) if user_id == users[0].id
    ));
    assert!(next_notice(&mut other, QUIET).await.is_none());
    tokio::time::sleep(chat_core::engine::TYPING_INTERVAL).await;
    assert!(world.engine.typing(&users[0], room).await.unwrap());
}

#[tokio::test]
async fn group_admins_delete_others_messages_and_members_do_not() {
    let world = World::new();
    let users = world.users(4).await;
    let (owner, admin, author, member) = (&users[0], &users[1], &users[2], &users[3]);
    let ids = [admin.id, author.id, member.id];
    let room = world
        .engine
        .create_group(owner.id, "Team", &ids)
        .await
        .unwrap()
        .room
        .id;
    world
        .engine
        .set_role(owner.id, room, admin.id, Role::Admin)
        .await
        .unwrap();
    let first = world.engine.send(author, room, "one", None).await.unwrap();
    let second = world.engine.send(author, room, "two", None).await.unwrap();
    let refused = world.engine.delete_message(member, room, first.id).await;
    assert_eq!(refused.unwrap_err().code(), "forbidden");
    assert!(
        world
            .engine
            .delete_message(admin, room, first.id)
            .await
            .unwrap()
            .deleted
    );
    assert!(
        world
            .engine
            .delete_message(owner, room, second.id)
            .await
            .unwrap()
            .deleted
    );
    let edit = world
        .engine
        .edit_message(author, room, second.id, "x")
        .await;
    assert_eq!(edit.unwrap_err().code(), "conflict");
}

#[tokio::test]
async fn added_members_start_reading_at_their_addition() {
    let world = World::new();
    let users = world.users(3).await;
    let (owner, early, late) = (&users[0], &users[1], &users[2]);
    let room = world
        .engine
        .create_group(owner.id, "Team", &[early.id])
        .await
        .unwrap()
        .room
        .id;
    for text in ["a", "b", "c"] {
        world.engine.send(owner, room, text, None).await.unwrap();
    }
    let update = world
        .engine
        .add_members(owner.id, room, &[late.id])
        .await
        .unwrap();
    let added = update.entries[0].seq;
    let rooms = world.engine.rooms(late.id).await.unwrap();
    assert_eq!((rooms[0].read_seq, rooms[0].unread), (added - 1, 1));
    let rooms = world.engine.rooms(early.id).await.unwrap();
    assert_eq!((rooms[0].read_seq, rooms[0].unread), (0, added));
    let rooms = world.engine.rooms(owner.id).await.unwrap();
    assert_eq!(rooms[0].unread, 0, "the owner's own entries count as read");
}

//! The engine's group operations and their role rules, on the memory store.

use std::sync::Arc;

use chat_core::engine::EngineConfig;
use chat_core::membership::{Role, RoomEvent};
use chat_core::memory::MemoryStore;
use chat_core::model::User;
use chat_core::store::Store;
use chat_core::testing::fixtures;
use chat_core::{Engine, Error, RoomId, TokenKeys, UserId};

struct World {
    engine: Engine,
    store: Arc<dyn Store>,
}

impl World {
    fn new(max_room_members: usize) -> World {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let config = EngineConfig {
            max_room_members,
            ..EngineConfig::default()
        };
        let engine = Engine::builder(store.clone(), TokenKeys::from_secret(b"groups"))
            .config(config)
            .build();
        World { engine, store }
    }

    async fn user(&self, name: &str) -> User {
        fixtures::user(self.store.as_ref(), name).await
    }

    /// A group owned by `owner` with `members`, one of whom (`admin`) is made an admin.
    async fn group(&self, owner: &User, members: &[&User], admin: Option<&User>) -> RoomId {
        let ids: Vec<UserId> = members.iter().map(|user| user.id).collect();
        let room = self
            .engine
            .create_group(owner.id, "Team", &ids)
            .await
            .unwrap()
            .room
            .id;
        if let Some(admin) = admin {
            self.engine
                .set_role(owner.id, room, admin.id, Role::Admin)
                .await
                .unwrap();
        }
        room
    }
}

fn is<T: std::fmt::Debug>(result: chat_core::Result<T>, kind: &str) {
    match result {
        Err(error) if error.code() == kind => {}
        other => panic!("expected {kind}, got {other:?}"),
    }
}

#[tokio::test]
async fn creating_a_group_makes_the_caller_owner_of_known_users() {
    let world = World::new(3);
    let (ann, bob, cid) = (
        world.user("Ann").await,
        world.user("Bob").await,
        world.user("Cid").await,
    );
    let created = world
        .engine
        .create_group(ann.id, "  Team  ", &[bob.id, cid.id, bob.id, ann.id])
        .await
        .unwrap();
    assert_eq!(created.room.group.as_ref().unwrap().name, "Team");
    assert_eq!(
        created.entries[0].event,
        Some(RoomEvent::Created {
            name: "Team".into()
        })
    );
    let view = world.engine.group(bob.id, created.room.id).await.unwrap();
    assert_eq!(view.member_count, 3);
    let owner = view
        .members
        .iter()
        .find(|member| member.user.id == ann.id)
        .unwrap();
    assert_eq!(owner.member.role, Role::Owner);
    assert_eq!(owner.user.name, "Ann");

    is(
        world
            .engine
            .create_group(ann.id, "x", &[UserId::generate()])
            .await,
        "not_found",
    );
    is(world.engine.create_group(ann.id, " ", &[]).await, "invalid");
    is(
        world
            .engine
            .create_group(ann.id, &"n".repeat(101), &[])
            .await,
        "invalid",
    );
    let dan = world.user("Dan").await;
    is(
        world
            .engine
            .create_group(ann.id, "big", &[bob.id, cid.id, dan.id])
            .await,
        "conflict",
    );
    let stranger = world.user("Eve").await;
    is(
        world.engine.group(stranger.id, created.room.id).await,
        "forbidden",
    );
    is(
        world.engine.group(ann.id, RoomId::generate()).await,
        "not_found",
    );
}

#[tokio::test]
async fn owners_and_admins_add_members_and_others_may_not() {
    let world = World::new(10);
    let (ann, bob, cid) = (
        world.user("Ann").await,
        world.user("Bob").await,
        world.user("Cid").await,
    );
    let room = world.group(&ann, &[&bob, &cid], Some(&bob)).await;
    let (dan, eve) = (world.user("Dan").await, world.user("Eve").await);
    is(
        world.engine.add_members(cid.id, room, &[dan.id]).await,
        "forbidden",
    );
    is(
        world.engine.add_members(dan.id, room, &[eve.id]).await,
        "forbidden",
    );
    is(
        world
            .engine
            .add_members(bob.id, room, &[UserId::generate()])
            .await,
        "not_found",
    );
    let added = world
        .engine
        .add_members(bob.id, room, &[dan.id, cid.id])
        .await
        .unwrap();
    assert_eq!(added.entries.len(), 1);
    assert_eq!(added.entries[0].sender_id, bob.id);
    assert_eq!(
        added.entries[0].event,
        Some(RoomEvent::Added {
            user_id: dan.id,
            role: Role::Member
        })
    );
    world
        .engine
        .add_members(ann.id, room, &[eve.id])
        .await
        .unwrap();
    let listed = world.engine.rooms(eve.id).await.unwrap();
    assert_eq!(listed[0].room.id, room);
}

#[tokio::test]
async fn removal_follows_the_roles_and_cuts_access_at_once() {
    let world = World::new(10);
    let (ann, bob, cid, dan) = (
        world.user("Ann").await,
        world.user("Bob").await,
        world.user("Cid").await,
        world.user("Dan").await,
    );
    let room = world.group(&ann, &[&bob, &cid, &dan], Some(&bob)).await;
    is(
        world.engine.remove_member(cid.id, room, dan.id).await,
        "forbidden",
    );
    is(
        world.engine.remove_member(bob.id, room, ann.id).await,
        "forbidden",
    );
    is(
        world
            .engine
            .remove_member(bob.id, room, UserId::generate())
            .await,
        "not_found",
    );
    let removed = world
        .engine
        .remove_member(bob.id, room, dan.id)
        .await
        .unwrap();
    assert_eq!(
        removed.entries[0].event,
        Some(RoomEvent::Removed { user_id: dan.id })
    );
    is(world.engine.group(dan.id, room).await, "forbidden");
    assert!(world.engine.rooms(dan.id).await.unwrap().is_empty());
    let left = world
        .engine
        .remove_member(cid.id, room, cid.id)
        .await
        .unwrap();
    assert_eq!(
        left.entries[0].event,
        Some(RoomEvent::Left { user_id: cid.id })
    );
    world
        .engine
        .remove_member(ann.id, room, bob.id)
        .await
        .unwrap();
    is(world.engine.group(bob.id, room).await, "forbidden");
}

#[tokio::test]
async fn the_last_owner_leaving_hands_the_group_to_the_longest_standing_admin() {
    let world = World::new(10);
    let (ann, bob, cid) = (
        world.user("Ann").await,
        world.user("Bob").await,
        world.user("Cid").await,
    );
    let room = world.group(&ann, &[&bob, &cid], Some(&cid)).await;
    let left = world
        .engine
        .remove_member(ann.id, room, ann.id)
        .await
        .unwrap();
    assert_eq!(left.entries.len(), 2);
    assert_eq!(
        left.entries[1].event,
        Some(RoomEvent::RoleChanged {
            user_id: cid.id,
            role: Role::Owner
        })
    );
    let (_, member) = world.engine.group_member(cid.id, room).await.unwrap();
    assert_eq!(member.role, Role::Owner);
    world
        .engine
        .add_members(cid.id, room, &[ann.id])
        .await
        .unwrap();
}

#[tokio::test]
async fn only_owners_promote_and_demote_admins() {
    let world = World::new(10);
    let (ann, bob, cid) = (
        world.user("Ann").await,
        world.user("Bob").await,
        world.user("Cid").await,
    );
    let room = world.group(&ann, &[&bob, &cid], Some(&bob)).await;
    is(
        world
            .engine
            .set_role(bob.id, room, cid.id, Role::Admin)
            .await,
        "forbidden",
    );
    is(
        world
            .engine
            .set_role(ann.id, room, cid.id, Role::Owner)
            .await,
        "invalid",
    );
    is(
        world
            .engine
            .set_role(ann.id, room, ann.id, Role::Member)
            .await,
        "forbidden",
    );
    is(
        world
            .engine
            .set_role(ann.id, room, UserId::generate(), Role::Admin)
            .await,
        "not_found",
    );
    let demoted = world
        .engine
        .set_role(ann.id, room, bob.id, Role::Member)
        .await
        .unwrap();
    assert_eq!(demoted.entries.len(), 1);
    let again = world
        .engine
        .set_role(ann.id, room, bob.id, Role::Member)
        .await
        .unwrap();
    assert!(again.entries.is_empty());
    is(
        world.engine.add_members(bob.id, room, &[]).await,
        "forbidden",
    );
}

#[tokio::test]
async fn owners_and_admins_rename_with_a_valid_name() {
    let world = World::new(10);
    let (ann, bob, cid) = (
        world.user("Ann").await,
        world.user("Bob").await,
        world.user("Cid").await,
    );
    let room = world.group(&ann, &[&bob, &cid], Some(&bob)).await;
    is(
        world.engine.rename_group(cid.id, room, "Mine").await,
        "forbidden",
    );
    is(world.engine.rename_group(bob.id, room, "").await, "invalid");
    let renamed = world
        .engine
        .rename_group(bob.id, room, " Ours ")
        .await
        .unwrap();
    assert_eq!(renamed.room.group.unwrap().name, "Ours");
    assert_eq!(
        renamed.entries[0].event,
        Some(RoomEvent::Renamed {
            name: "Ours".into()
        })
    );
}

#[tokio::test]
async fn direct_rooms_take_no_group_operations() {
    let world = World::new(10);
    let (ann, bob) = (world.user("Ann").await, world.user("Bob").await);
    let direct = world.engine.open_direct(ann.id, bob.id).await.unwrap().room;
    is(world.engine.group(ann.id, direct.id).await, "invalid");
    is(
        world.engine.add_members(ann.id, direct.id, &[bob.id]).await,
        "invalid",
    );
    is(
        world.engine.rename_group(ann.id, direct.id, "x").await,
        "invalid",
    );
    let error: Error = world
        .engine
        .remove_member(ann.id, direct.id, ann.id)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "invalid");
}

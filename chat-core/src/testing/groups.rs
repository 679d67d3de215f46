//! The group checks of membership rules: one public async function per promise of
//! [`GroupStore`], run by every backend through [`store_conformance!`](crate::store_conformance);
//! the races are in `group_races`, which shares the helpers here.

use std::sync::Arc;

use chrono::Duration;

use crate::error::Error;
use crate::id::{RoomId, UserId};
use crate::membership::{Change, Member, NewGroup, Role, RoomEvent};
use crate::model::{Room, RoomKind, Timestamp, User, now};
use crate::store::Store;
use crate::testing::fixtures;

pub(crate) async fn user(store: &Arc<dyn Store>, name: &str) -> User {
    fixtures::user(store.as_ref(), name).await
}

pub(crate) async fn users(store: &Arc<dyn Store>, n: usize) -> Vec<User> {
    let mut all = Vec::with_capacity(n);
    for i in 0..n {
        all.push(user(store, &format!("U{i}")).await);
    }
    all
}

pub(crate) fn new_group(
    creator: &User,
    members: &[&User],
    at: Timestamp,
    max_members: usize,
) -> NewGroup {
    NewGroup {
        id: RoomId::generate(),
        name: "Friends".into(),
        creator: creator.id,
        creator_name: creator.name.clone(),
        members: members.iter().map(|member| member.id).collect(),
        created_at: at,
        max_members,
    }
}

/// A group created a minute ago by a new owner, with `n` other members.
pub(crate) async fn group(store: &Arc<dyn Store>, n: usize) -> (Room, User, Vec<User>) {
    let owner = user(store, "Owner").await;
    let others = users(store, n).await;
    let refs: Vec<&User> = others.iter().collect();
    let at = now() - Duration::seconds(60);
    let (room, _) = store
        .create_group(new_group(&owner, &refs, at, 10_000))
        .await
        .unwrap();
    (room, owner, others)
}

pub(crate) fn change(room: &Room, actor: &User, at: Timestamp) -> Change {
    Change {
        room: room.id,
        actor: actor.id,
        actor_name: actor.name.clone(),
        at,
    }
}

pub(crate) async fn role_of(store: &Arc<dyn Store>, room: &Room, user: &User) -> Option<Role> {
    store
        .member(room.id, user.id)
        .await
        .unwrap()
        .map(|member| member.role)
}

pub(crate) async fn events(store: &Arc<dyn Store>, room: RoomId) -> Vec<(u64, RoomEvent)> {
    let mut page = store.page(room, None, 10_000).await.unwrap();
    page.reverse();
    page.into_iter()
        .filter_map(|entry| entry.event.map(|event| (entry.seq, event)))
        .collect()
}

pub(crate) async fn lists(store: &Arc<dyn Store>, user: &User, room: &Room) -> bool {
    store
        .rooms_of(user.id, 100)
        .await
        .unwrap()
        .iter()
        .any(|listed| listed.id == room.id)
}

/// The creator is the owner, the others members; duplicates are ignored; the timeline starts
/// with `Created` at seq 1; everyone's room list shows the group with its name.
pub async fn groups_start_with_their_creator_as_owner(store: Arc<dyn Store>) {
    let owner = user(&store, "Ann").await;
    let (bob, cid) = (user(&store, "Bob").await, user(&store, "Cid").await);
    let at = now() - Duration::seconds(5);
    let mut new = new_group(&owner, &[&bob, &cid, &bob, &owner], at, 3);
    new.name = "Ünïcode 👋 club".into();
    let (room, created) = store.create_group(new).await.unwrap();
    assert_eq!(room.kind, RoomKind::Group);
    assert!(room.members.is_empty());
    let info = room.group.clone().unwrap();
    assert_eq!(info.name, "Ünïcode 👋 club");
    assert_eq!(info.created_by, owner.id);
    assert_eq!(room.created_at, at);
    assert_eq!(created.seq, 1);
    assert_eq!(created.sender_id, owner.id);
    assert_eq!(created.sender_name, "Ann");
    assert_eq!(
        created.event,
        Some(RoomEvent::Created {
            name: "Ünïcode 👋 club".into()
        })
    );
    assert_eq!(store.member_count(room.id).await.unwrap(), 3);
    let owner_membership = store.member(room.id, owner.id).await.unwrap().unwrap();
    assert_eq!(
        owner_membership,
        Member {
            user_id: owner.id,
            role: Role::Owner,
            joined_at: at
        }
    );
    assert_eq!(role_of(&store, &room, &bob).await, Some(Role::Member));
    assert_eq!(
        store.member(room.id, UserId::generate()).await.unwrap(),
        None
    );

    let read = store.room(room.id).await.unwrap().unwrap();
    assert_eq!(read.group, room.group);
    assert_eq!(read.kind, RoomKind::Group);
    assert_eq!(read.last_message, Some(created.clone()));
    for member in [&owner, &bob, &cid] {
        let listed = store.rooms_of(member.id, 10).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].group, room.group);
        assert_eq!(listed[0].last_message, Some(created.clone()));
    }
    assert_eq!(store.page(room.id, None, 10).await.unwrap(), vec![created]);
    let taken = store.create_group(NewGroup {
        id: room.id,
        ..new_group(&owner, &[], at, 3)
    });
    assert!(matches!(taken.await, Err(Error::Conflict(_))));
}

/// A group with more members than the limit is refused and nothing of it stored.
pub async fn group_creation_respects_the_member_limit(store: Arc<dyn Store>) {
    let owner = user(&store, "Ann").await;
    let others = users(&store, 3).await;
    let refs: Vec<&User> = others.iter().collect();
    let new = new_group(&owner, &refs, now(), 3);
    let id = new.id;
    assert!(matches!(
        store.create_group(new).await,
        Err(Error::Conflict(_))
    ));
    assert_eq!(store.room(id).await.unwrap(), None);
    assert_eq!(store.member_count(id).await.unwrap(), 0);
    assert!(store.rooms_of(owner.id, 10).await.unwrap().is_empty());
    let exact = new_group(&owner, &refs, now(), 4);
    store.create_group(exact).await.unwrap();
}

/// New users get one `Added` entry each, in the order given; members are skipped.
pub async fn adding_members_skips_members_and_records_each_addition(store: Arc<dyn Store>) {
    let (room, owner, others) = group(&store, 1).await;
    let (dan, eve) = (user(&store, "Dan").await, user(&store, "Eve").await);
    assert!(!lists(&store, &dan, &room).await);
    let at = now();
    let added = store
        .add_members(
            &change(&room, &owner, at),
            &[eve.id, others[0].id, dan.id, eve.id, owner.id],
            10,
        )
        .await
        .unwrap();
    let got: Vec<(u64, Option<RoomEvent>)> = added
        .iter()
        .map(|entry| (entry.seq, entry.event.clone()))
        .collect();
    let added_event = |user: &User| {
        Some(RoomEvent::Added {
            user_id: user.id,
            role: Role::Member,
        })
    };
    assert_eq!(got, vec![(2, added_event(&eve)), (3, added_event(&dan))]);
    assert!(added.iter().all(|entry| entry.sender_id == owner.id));
    assert_eq!(store.member_count(room.id).await.unwrap(), 4);
    let dans = store.member(room.id, dan.id).await.unwrap().unwrap();
    assert_eq!((dans.role, dans.joined_at), (Role::Member, at));
    assert!(lists(&store, &dan, &room).await);
    let again = store
        .add_members(&change(&room, &owner, now()), &[dan.id], 10)
        .await
        .unwrap();
    assert!(again.is_empty());
    assert_eq!(events(&store, room.id).await.len(), 3);
    let read = store.room(room.id).await.unwrap().unwrap();
    assert_eq!(read.last_message.as_ref(), added.last());
}

/// Adding past the limit is a conflict that adds nobody, not even those who would fit.
pub async fn full_groups_refuse_new_members(store: Arc<dyn Store>) {
    let (room, owner, others) = group(&store, 2).await;
    let extra = users(&store, 3).await;
    let ids: Vec<UserId> = extra.iter().map(|user| user.id).collect();
    let refused = store
        .add_members(&change(&room, &owner, now()), &ids, 5)
        .await;
    assert!(matches!(refused, Err(Error::Conflict(_))), "{refused:?}");
    assert_eq!(store.member_count(room.id).await.unwrap(), 3);
    assert_eq!(store.member(room.id, ids[0]).await.unwrap(), None);
    assert_eq!(events(&store, room.id).await.len(), 1);
    let existing = store
        .add_members(&change(&room, &owner, now()), &[others[0].id], 3)
        .await
        .unwrap();
    assert!(existing.is_empty(), "re-adding a member never needs room");
    let fits = store
        .add_members(&change(&room, &owner, now()), &ids[..2], 5)
        .await
        .unwrap();
    assert_eq!(fits.len(), 2);
    assert_eq!(store.member_count(room.id).await.unwrap(), 5);
}

/// A removed member is no member, loses the group from its list, and is recorded once;
/// removing it again is `NotFound`. A member leaving by itself is recorded as `Left`.
pub async fn removed_members_lose_the_group(store: Arc<dyn Store>) {
    let (room, owner, others) = group(&store, 2).await;
    let (bob, cid) = (&others[0], &others[1]);
    let removed = store
        .remove_member(&change(&room, &owner, now()), bob.id)
        .await
        .unwrap();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].seq, 2);
    assert_eq!(removed[0].sender_id, owner.id);
    assert_eq!(
        removed[0].event,
        Some(RoomEvent::Removed { user_id: bob.id })
    );
    assert_eq!(store.member(room.id, bob.id).await.unwrap(), None);
    assert!(!lists(&store, bob, &room).await);
    assert!(lists(&store, cid, &room).await);
    assert_eq!(store.member_count(room.id).await.unwrap(), 2);
    let again = store
        .remove_member(&change(&room, &owner, now()), bob.id)
        .await;
    assert!(matches!(again, Err(Error::NotFound(_))), "{again:?}");
    let left = store
        .remove_member(&change(&room, cid, now()), cid.id)
        .await
        .unwrap();
    assert_eq!(left[0].event, Some(RoomEvent::Left { user_id: cid.id }));
    assert_eq!(left[0].seq, 3);
    assert!(!lists(&store, cid, &room).await);
    let back = store
        .add_members(&change(&room, &owner, now()), &[bob.id], 10)
        .await
        .unwrap();
    assert_eq!(back.len(), 1);
    assert!(lists(&store, bob, &room).await);
}

/// When the last owner leaves, the longest-standing admin becomes owner, else the
/// longest-standing member; the hand-over is recorded with the heir as sender.
pub async fn the_last_owner_leaving_hands_ownership_on(store: Arc<dyn Store>) {
    let (room, owner, others) = group(&store, 1).await;
    let early = &others[0];
    let t0 = now() - Duration::seconds(30);
    let later = users(&store, 2).await;
    for (i, member) in later.iter().enumerate() {
        let at = t0 + Duration::seconds(i as i64 + 1);
        store
            .add_members(&change(&room, &owner, at), &[member.id], 10)
            .await
            .unwrap();
    }
    for admin in &later {
        store
            .set_role(&change(&room, &owner, now()), admin.id, Role::Admin)
            .await
            .unwrap();
    }
    let entries = store
        .remove_member(&change(&room, &owner, now()), owner.id)
        .await
        .unwrap();
    let heir = &later[0];
    assert_eq!(entries.len(), 2);
    assert_eq!(
        entries[0].event,
        Some(RoomEvent::Left { user_id: owner.id })
    );
    assert_eq!(entries[1].seq, entries[0].seq + 1);
    assert_eq!(entries[1].sender_id, heir.id);
    assert_eq!(entries[1].sender_name, heir.name);
    assert_eq!(
        entries[1].event,
        Some(RoomEvent::RoleChanged {
            user_id: heir.id,
            role: Role::Owner
        })
    );
    assert_eq!(role_of(&store, &room, heir).await, Some(Role::Owner));
    assert_eq!(role_of(&store, &room, &later[1]).await, Some(Role::Admin));

    // Without admins, the member who joined first inherits.
    for admin in &later[1..] {
        store
            .remove_member(&change(&room, heir, now()), admin.id)
            .await
            .unwrap();
    }
    let entries = store
        .remove_member(&change(&room, heir, now()), heir.id)
        .await
        .unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(role_of(&store, &room, early).await, Some(Role::Owner));

    // An owner leaving while another owner stays hands nothing on.
    let newcomer = user(&store, "New").await;
    store
        .add_members(&change(&room, early, now()), &[newcomer.id], 10)
        .await
        .unwrap();
    store
        .set_role(&change(&room, early, now()), newcomer.id, Role::Owner)
        .await
        .unwrap();
    let entries = store
        .remove_member(&change(&room, early, now()), early.id)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
}

/// The last member may leave; the group stays, empty, and nobody lists it.
pub async fn the_last_member_leaving_leaves_an_empty_group(store: Arc<dyn Store>) {
    let (room, owner, _) = group(&store, 0).await;
    let entries = store
        .remove_member(&change(&room, &owner, now()), owner.id)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(store.member_count(room.id).await.unwrap(), 0);
    assert!(store.members(room.id, None, 10).await.unwrap().is_empty());
    assert!(!lists(&store, &owner, &room).await);
    assert!(store.room(room.id).await.unwrap().is_some());
}

/// A role change is recorded; setting the role a member has is a no-op; strangers are
/// `NotFound`.
pub async fn roles_change_with_an_entry(store: Arc<dyn Store>) {
    let (room, owner, others) = group(&store, 1).await;
    let bob = &others[0];
    let promoted = store
        .set_role(&change(&room, &owner, now()), bob.id, Role::Admin)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(promoted.seq, 2);
    assert_eq!(promoted.sender_id, owner.id);
    assert_eq!(
        promoted.event,
        Some(RoomEvent::RoleChanged {
            user_id: bob.id,
            role: Role::Admin
        })
    );
    assert_eq!(role_of(&store, &room, bob).await, Some(Role::Admin));
    let unchanged = store
        .set_role(&change(&room, &owner, now()), bob.id, Role::Admin)
        .await
        .unwrap();
    assert_eq!(unchanged, None);
    store
        .set_role(&change(&room, &owner, now()), bob.id, Role::Member)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(role_of(&store, &room, bob).await, Some(Role::Member));
    let stranger = store
        .set_role(
            &change(&room, &owner, now()),
            UserId::generate(),
            Role::Admin,
        )
        .await;
    assert!(matches!(stranger, Err(Error::NotFound(_))), "{stranger:?}");
    assert_eq!(events(&store, room.id).await.len(), 3);
}

/// A rename is recorded and names the group wherever it is read.
pub async fn renames_are_recorded_and_name_the_group(store: Arc<dyn Store>) {
    let (room, owner, others) = group(&store, 1).await;
    let renamed = store
        .rename(&change(&room, &others[0], now()), "New name ✨")
        .await
        .unwrap();
    assert_eq!(renamed.seq, 2);
    assert_eq!(renamed.sender_id, others[0].id);
    assert_eq!(
        renamed.event,
        Some(RoomEvent::Renamed {
            name: "New name ✨".into()
        })
    );
    let read = store.room(room.id).await.unwrap().unwrap();
    let info = read.group.unwrap();
    assert_eq!(info.name, "New name ✨");
    assert_eq!(info.created_by, owner.id);
    let listed = store.rooms_of(owner.id, 10).await.unwrap();
    assert_eq!(listed[0].group.as_ref().unwrap().name, "New name ✨");
    assert_eq!(listed[0].last_message, Some(renamed));
}

/// Walking member pages by the last user id visits every member once, in id order.
pub async fn members_page_by_user_id(store: Arc<dyn Store>) {
    let (room, owner, others) = group(&store, 11).await;
    let mut expected: Vec<UserId> = others.iter().map(|user| user.id).collect();
    expected.push(owner.id);
    expected.sort();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store.members(room.id, after, 5).await.unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 5);
        after = page.last().map(|member| member.user_id);
        seen.extend(page.into_iter().map(|member| member.user_id));
    }
    assert_eq!(seen, expected);
    assert_eq!(store.member_count(room.id).await.unwrap(), 12);
    let last = store.members(room.id, Some(expected[11]), 5).await.unwrap();
    assert!(last.is_empty());
    assert!(
        store
            .members(RoomId::generate(), None, 5)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.member_count(RoomId::generate()).await.unwrap(), 0);
}

/// Group changes on a direct room are `Invalid`, on an unknown room `NotFound`; direct rooms
/// keep their two members and no group part.
pub async fn group_changes_need_a_group(store: Arc<dyn Store>) {
    let (a, b) = (user(&store, "Ann").await, user(&store, "Bob").await);
    let direct = store.direct_room(a.id, b.id, now()).await.unwrap();
    assert_eq!(direct.group, None);
    assert_eq!(direct.members.len(), 2);
    let c = user(&store, "Cid").await;
    let on_direct = change(&direct, &a, now());
    assert!(matches!(
        store.add_members(&on_direct, &[c.id], 10).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        store.rename(&on_direct, "x").await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        store.remove_member(&on_direct, b.id).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        store.set_role(&on_direct, b.id, Role::Admin).await,
        Err(Error::Invalid(_))
    ));
    let ghost = Change {
        room: RoomId::generate(),
        ..on_direct
    };
    assert!(matches!(
        store.add_members(&ghost, &[c.id], 10).await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        store.rename(&ghost, "x").await,
        Err(Error::NotFound(_))
    ));
    assert_eq!(store.member(direct.id, a.id).await.unwrap(), None);
    let listed = store.rooms_of(a.id, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].kind, RoomKind::Direct);
}

//! Operators' account actions through the engine: disabling ends sessions and logins,
//! deleting also leaves groups and erases the account, and a revocation stored by another
//! process without a bus still closes this node's sockets within the recheck period.

use std::sync::Arc;
use std::time::Duration;

use chat_core::hub::Next;
use chat_core::memory::MemoryStore;
use chat_core::model::{AccountStatus, DELETED_USER_NAME, RoomKind};
use chat_core::store::{AdminStore, RoomStore, Store, UserStore};
use chat_core::{Connection, Engine, Error, TokenKeys};

const PASSWORD: &str = "password123";

fn engine(store: &Arc<MemoryStore>) -> Engine {
    let store: Arc<dyn Store> = store.clone();
    Engine::builder(store, TokenKeys::from_secret(b"operators")).build()
}

/// A socket of a fresh login of `email`, tied to its session as the HTTP edge ties it.
async fn socket(engine: &Engine, email: &str) -> Connection {
    let session = engine.login(email, PASSWORD).await.unwrap();
    let (user, claims) = engine.authenticate_claims(&session.token).await.unwrap();
    engine.connect_session(user, claims).await.unwrap()
}

/// The next thing the socket is told, skipping events, within a generous wait.
async fn closed_as(socket: &mut Connection, wait: Duration) -> Option<Next> {
    tokio::time::timeout(wait, async {
        loop {
            match socket.next().await {
                Next::Event(_) => continue,
                other => return other,
            }
        }
    })
    .await
    .ok()
}

#[tokio::test]
async fn disabled_users_lose_their_sockets_and_cannot_log_in_until_enabled() {
    let store = Arc::new(MemoryStore::new());
    let engine = engine(&store);
    let ann = engine
        .register("ann@example.com", PASSWORD, "Ann")
        .await
        .unwrap();
    let mut open = socket(&engine, "ann@example.com").await;

    engine.disable_user(ann.user.id).await.unwrap();
    let next = closed_as(&mut open, Duration::from_secs(5)).await;
    assert!(matches!(next, Some(Next::Revoked)), "{next:?}");
    assert!(engine.authenticate(&ann.token).await.is_err());
    assert!(matches!(
        engine.login("ann@example.com", PASSWORD).await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        engine.login("ann@example.com", "wrong password").await,
        Err(Error::Unauthenticated(_))
    ));

    store.set_disabled(ann.user.id, false).await.unwrap();
    engine.login("ann@example.com", PASSWORD).await.unwrap();
}

#[tokio::test]
async fn deleted_users_leave_their_groups_and_keep_their_messages_anonymously() {
    let store = Arc::new(MemoryStore::new());
    let engine = engine(&store);
    let ann = engine
        .register("ann@example.com", PASSWORD, "Ann")
        .await
        .unwrap()
        .user;
    let bob = engine
        .register("bob@example.com", PASSWORD, "Bob")
        .await
        .unwrap()
        .user;
    let direct = engine.open_direct(ann.id, bob.id).await.unwrap().room;
    let group = engine
        .create_group(ann.id, "Team", &[bob.id])
        .await
        .unwrap()
        .room;
    engine.send(&ann, direct.id, "hello", None).await.unwrap();
    engine.send(&ann, group.id, "hi team", None).await.unwrap();

    engine.delete_user(ann.id, false).await.unwrap();

    let account = store.account(ann.id).await.unwrap().unwrap();
    assert_eq!(account.status, AccountStatus::Deleted);
    assert!(
        store
            .credentials("ann@example.com")
            .await
            .unwrap()
            .is_none()
    );
    assert!(engine.login("ann@example.com", PASSWORD).await.is_err());
    let rooms = engine.rooms(bob.id).await.unwrap();
    assert_eq!(rooms.len(), 2, "bob keeps both rooms");
    let groups = store.rooms_of(ann.id, 10).await.unwrap();
    assert!(groups.iter().all(|room| room.kind == RoomKind::Direct));
    let timeline = engine.history(&bob, group.id, None, 10).await.unwrap();
    let newest = &timeline[0];
    assert!(
        newest.event.is_some(),
        "the leave is the group's newest entry"
    );
    assert!(
        timeline
            .iter()
            .all(|m| m.sender_id != ann.id || m.sender_name == DELETED_USER_NAME)
    );
    let history = engine.history(&bob, direct.id, None, 10).await.unwrap();
    assert_eq!(history[0].text, "hello");
    assert_eq!(history[0].sender_name, DELETED_USER_NAME);
    assert_eq!(
        engine.group(bob.id, group.id).await.unwrap().member_count,
        1,
        "bob, now the owner, is the one member left"
    );
}

/// Another process (an operator tool without the bus) advances the generation in the shared
/// store; no notice comes, yet the socket closes once the node rechecks its sessions.
#[tokio::test]
async fn revocations_without_a_notice_close_sockets_at_the_next_recheck() {
    let store = Arc::new(MemoryStore::new());
    let engine = engine(&store);
    let ann = engine
        .register("ann@example.com", PASSWORD, "Ann")
        .await
        .unwrap();
    let mut open = socket(&engine, "ann@example.com").await;
    tokio::time::pause();
    store.advance_generation(ann.user.id, None).await.unwrap();
    tokio::time::advance(Duration::from_secs(31)).await;
    let next = closed_as(&mut open, Duration::from_secs(60)).await;
    assert!(matches!(next, Some(Next::Revoked)), "{next:?}");
}

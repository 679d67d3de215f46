//! Server-side sends: the host speaks as the system user or a bot in any room, creates
//! groups and adds members, with the guarantees of a user's send.

mod support;
use support::next_message;

use std::sync::Arc;

use chat_core::membership::RoomEvent;
use chat_core::memory::MemoryStore;
use chat_core::model::Message;
use chat_core::{Engine, Error, RoomId, ServerSender, TokenKeys};

fn engine() -> Engine {
    Engine::builder(
        Arc::new(MemoryStore::new()),
        TokenKeys::from_secret(b"server"),
    )
    .build()
}

#[tokio::test]
async fn system_sends_reach_the_members_once_in_seq_order_and_resends_are_idempotent() {
    let engine = engine();
    let ann = engine.upsert_external_user("ann", "Ann").await.unwrap();
    let bob = engine.upsert_external_user("bob", "Bob").await.unwrap();
    let room = engine.open_direct(ann.id, bob.id).await.unwrap().room.id;
    let mut bobs = engine.connect(bob.clone()).await.unwrap();
    let said = engine.send(&ann, room, "hi", None).await.unwrap();
    let notice = engine
        .send_as(
            ServerSender::System,
            room,
            "maintenance at noon",
            Some("n-1"),
        )
        .await
        .unwrap();
    let again = engine
        .send_as(
            ServerSender::System,
            room,
            "maintenance at noon",
            Some("n-1"),
        )
        .await
        .unwrap();
    assert_eq!(again.id, notice.id);
    assert_eq!(notice.seq, said.seq + 1);
    let system = engine.system_user().await.unwrap();
    assert_eq!(
        (notice.sender_id, notice.sender_name.as_str()),
        (system.id, "System")
    );
    assert_eq!(next_message(&mut bobs).await.id, said.id);
    assert_eq!(next_message(&mut bobs).await.id, notice.id);
    let history = engine.history(&bob, room, None, 10).await.unwrap();
    assert_eq!(history.len(), 2, "the resend stored nothing: {history:?}");
}

#[tokio::test]
async fn bots_create_groups_add_members_and_speak_without_membership() {
    let engine = engine();
    let ann = engine.upsert_external_user("ann", "Ann").await.unwrap();
    let bob = engine.upsert_external_user("bob", "Bob").await.unwrap();
    let bot = engine
        .upsert_external_user("helper-bot", "Helper")
        .await
        .unwrap();
    let group = engine
        .create_group_as(ServerSender::System, "Announcements", &[ann.id])
        .await
        .unwrap()
        .room
        .id;
    let mut bobs = engine.connect(bob.clone()).await.unwrap();
    let added = engine
        .add_members_as_server(group, &[bob.id])
        .await
        .unwrap();
    assert!(matches!(
        added.entries[..],
        [Message { event: Some(RoomEvent::Added { user_id, .. }), .. }] if user_id == bob.id
    ));
    assert_eq!(next_message(&mut bobs).await.id, added.entries[0].id);
    let hello = engine
        .send_as(
            ServerSender::User(bot.id),
            group,
            "welcome, Bob",
            Some("w-1"),
        )
        .await
        .unwrap();
    assert_eq!(next_message(&mut bobs).await.id, hello.id);
    assert!(matches!(
        engine
            .send(&bot, group, "a bot's own send is a user's", None)
            .await,
        Err(Error::Forbidden(_))
    ));
}

#[tokio::test]
async fn server_sends_are_checked_like_user_sends() {
    let engine = engine();
    let ghost = RoomId::generate();
    assert!(matches!(
        engine
            .send_as(ServerSender::System, ghost, "hello", None)
            .await,
        Err(Error::NotFound(_))
    ));
    let ann = engine.upsert_external_user("ann", "Ann").await.unwrap();
    let bob = engine.upsert_external_user("bob", "Bob").await.unwrap();
    let room = engine.open_direct(ann.id, bob.id).await.unwrap().room.id;
    assert!(matches!(
        engine.send_as(ServerSender::System, room, "  ", None).await,
        Err(Error::Invalid(_))
    ));
    assert!(matches!(
        engine
            .send_as(
                ServerSender::User(chat_core::UserId::generate()),
                room,
                "hi",
                None
            )
            .await,
        Err(Error::NotFound(_))
    ));
    assert!(matches!(
        engine.add_members_as_server(room, &[ann.id]).await,
        Err(Error::Invalid(_))
    ));
}

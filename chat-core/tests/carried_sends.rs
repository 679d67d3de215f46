//! A send, once admitted, a group change, an edit, a deletion, a reaction or a read position,
//! once under way, are carried through on their own: what the caller does after that (stop
//! polling while it writes to a slow client, or go away) neither delays what the room's
//! sockets and the other nodes hear nor loses it.

mod support;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use chat_core::event::ServerEvent;
use chat_core::limits::Quota;
use chat_core::memory::{MemoryBusNetwork, MemoryStore};
use chat_core::model::User;
use chat_core::store::{MessageStore, Store};
use chat_core::{Engine, EngineConfig, Error, RoomId, TokenKeys};

use support::{next_event, next_message};

/// How long the store takes to acknowledge an append it has already stored.
const ANSWER_DELAY: Duration = Duration::from_millis(200);

/// A node whose gap filling waits far longer than any test here, so only the live fanout
/// can deliver in time.
fn engine(store: &Arc<MemoryStore>) -> Engine {
    node(store, None)
}

/// [`engine`], on `network`'s bus when given.
fn node(store: &Arc<MemoryStore>, network: Option<&MemoryBusNetwork>) -> Engine {
    let store: Arc<dyn Store> = store.clone();
    let builder = Engine::builder(store, TokenKeys::from_secret(b"a secret for carried sends"));
    let builder = match network {
        Some(network) => builder.bus(Arc::new(network.attach())),
        None => builder,
    };
    builder
        .config(EngineConfig {
            gap_wait: Duration::from_secs(30),
            quota: Quota {
                per_second: 1_000,
                burst: 1_000,
            },
            ..EngineConfig::default()
        })
        .build()
}

async fn ann_and_bob(engine: &Engine) -> (User, User) {
    let register = async |email: &str, name: &str| {
        engine
            .register(email, "password1", name)
            .await
            .unwrap()
            .user
    };
    (
        register("ann@example.com", "Ann").await,
        register("bob@example.com", "Bob").await,
    )
}

/// Ann and Bob, and their direct room.
async fn pair(engine: &Engine) -> (User, User, RoomId) {
    let (ann, bob) = ann_and_bob(engine).await;
    let room = engine.open_direct(ann.id, bob.id).await.unwrap().room.id;
    (ann, bob, room)
}

#[tokio::test]
async fn a_send_whose_caller_goes_away_after_it_was_stored_is_still_delivered_live() {
    let store = Arc::new(MemoryStore::with_answer_delay(ANSWER_DELAY));
    let engine = engine(&store);
    let (ann, bob, room) = pair(&engine).await;
    let mut bobs_socket = engine.connect(bob.clone()).await.unwrap();

    let abandoned =
        tokio::time::timeout(ANSWER_DELAY / 4, engine.send(&ann, room, "hello", None)).await;
    assert!(
        abandoned.is_err(),
        "the caller stopped waiting before the answer"
    );

    let delivered = next_message(&mut bobs_socket).await;
    assert_eq!((delivered.text.as_str(), delivered.seq), ("hello", 1));
    let stored = store.page(room, None, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
}

#[tokio::test]
async fn a_sender_slow_to_poll_does_not_hold_the_rooms_later_messages_behind_a_gap() {
    let store = Arc::new(MemoryStore::with_answer_delay(ANSWER_DELAY));
    let engine = engine(&store);
    let (ann, bob, room) = pair(&engine).await;
    let mut bobs_socket = engine.connect(bob.clone()).await.unwrap();

    let mut anns_send = std::pin::pin!(engine.send(&ann, room, "first", None));
    let started = tokio::time::timeout(ANSWER_DELAY / 4, &mut anns_send).await;
    assert!(
        started.is_err(),
        "ann's send is stored and awaits its answer"
    );
    let bobs = engine.send(&bob, room, "second", None).await.unwrap();
    assert_eq!(bobs.seq, 2);

    let live = [
        next_message(&mut bobs_socket).await,
        next_message(&mut bobs_socket).await,
    ];
    assert_eq!(live.map(|message| message.seq), [1, 2]);
    assert_eq!(anns_send.await.unwrap().seq, 1);
}

#[tokio::test]
async fn a_removal_whose_request_goes_away_after_it_was_stored_still_reaches_other_nodes() {
    let store = Arc::new(MemoryStore::with_answer_delay(ANSWER_DELAY));
    let network = MemoryBusNetwork::new();
    let (one, two) = (node(&store, Some(&network)), node(&store, Some(&network)));
    let (ann, bob) = ann_and_bob(&one).await;
    let room = one
        .create_group(ann.id, "team", &[bob.id])
        .await
        .unwrap()
        .room
        .id;
    tokio::time::sleep(Duration::from_millis(100)).await;
    two.send(&bob, room, "before", None).await.unwrap();

    let abandoned =
        tokio::time::timeout(ANSWER_DELAY / 4, one.remove_member(ann.id, room, bob.id)).await;
    assert!(
        abandoned.is_err(),
        "the request went away before the answer"
    );

    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match two.send(&bob, room, "after", None).await {
            Err(Error::Forbidden(_)) => break,
            Ok(_) => assert!(
                tokio::time::Instant::now() < deadline,
                "node two still takes the removed member's sends"
            ),
            Err(other) => panic!("unexpected error {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts `request` and stops waiting for it before the store answers.
async fn abandon<T: Debug>(request: impl Future<Output = Result<T, Error>>) {
    let outcome = tokio::time::timeout(ANSWER_DELAY / 4, request).await;
    assert!(
        outcome.is_err(),
        "the caller went away before the answer, not after {outcome:?}"
    );
}

/// Ann's message in her room with Bob, and both their sockets, on a store slow to answer.
struct Conversation {
    store: Arc<MemoryStore>,
    engine: Engine,
    ann: User,
    bob: User,
    room: RoomId,
    sent: chat_core::model::Message,
    anns_socket: chat_core::Connection,
    bobs_socket: chat_core::Connection,
}

async fn conversation() -> Conversation {
    let store = Arc::new(MemoryStore::with_answer_delay(ANSWER_DELAY));
    let engine = engine(&store);
    let (ann, bob, room) = pair(&engine).await;
    let sent = engine.send(&ann, room, "hello", None).await.unwrap();
    let anns_socket = engine.connect(ann.clone()).await.unwrap();
    let bobs_socket = engine.connect(bob.clone()).await.unwrap();
    Conversation {
        store,
        engine,
        ann,
        bob,
        room,
        sent,
        anns_socket,
        bobs_socket,
    }
}

#[tokio::test]
async fn an_edit_whose_caller_goes_away_after_it_was_stored_is_still_told_live() {
    let mut c = conversation().await;
    abandon(
        c.engine
            .edit_message(&c.ann, c.room, c.sent.id, "hello again"),
    )
    .await;
    let edited = next_event(&mut c.bobs_socket, |event| match event {
        ServerEvent::MessageEdited(message) => Some(message.text.clone()),
        _ => None,
    })
    .await;
    assert_eq!(edited, "hello again");
}

#[tokio::test]
async fn a_reaction_whose_caller_goes_away_after_it_was_stored_is_still_told_live() {
    let mut c = conversation().await;
    abandon(c.engine.react(&c.bob, c.room, c.sent.id, "👍", true)).await;
    let reaction = next_event(&mut c.anns_socket, |event| match event {
        ServerEvent::Reaction {
            user_id,
            emoji,
            added,
            ..
        } => Some((*user_id, emoji.clone(), *added)),
        _ => None,
    })
    .await;
    assert_eq!(reaction, (c.bob.id, "👍".to_owned(), true));
}

#[tokio::test]
async fn a_read_position_whose_caller_goes_away_after_it_was_stored_is_still_told_live() {
    let mut c = conversation().await;
    abandon(c.engine.mark_read(&c.bob, c.room, c.sent.seq)).await;
    let read = next_event(&mut c.anns_socket, |event| match event {
        ServerEvent::Read { user_id, seq, .. } => Some((*user_id, *seq)),
        _ => None,
    })
    .await;
    assert_eq!(read, (c.bob.id, c.sent.seq));
}

#[tokio::test]
async fn a_deletion_whose_caller_goes_away_after_it_was_stored_is_still_told_live() {
    let mut c = conversation().await;
    abandon(c.engine.delete_message(&c.ann, c.room, c.sent.id)).await;
    let deleted = next_event(&mut c.bobs_socket, |event| match event {
        ServerEvent::MessageDeleted { id, .. } => Some(*id),
        _ => None,
    })
    .await;
    assert_eq!(deleted, c.sent.id);
    assert!(c.store.message(c.sent.id).await.unwrap().unwrap().deleted);
}

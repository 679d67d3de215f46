//! The bus checks: one public async function per promise of the [`Bus`] trait.
//!
//! Each check gets two connected nodes of one deployment. "Nothing else arrived" is checked
//! without sleeping: a later marker event from the same publisher must be the next thing the
//! receiver sees, because the bus keeps each publisher's order.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::bus::{Bus, Inbound};
use crate::event::ServerEvent;
use crate::id::{MessageId, RoomId, UserId};
use crate::model::{Message, now};

/// Two nodes attached to one bus.
pub type BusPair = (Arc<dyn Bus>, Arc<dyn Bus>);

/// How long a check waits for an event that must arrive.
const PATIENCE: Duration = Duration::from_secs(5);

/// Lets the conformance macro accept a pair or an optional one.
pub trait IntoBusOption {
    /// `None` means "skip: backend not configured".
    fn into_bus_option(self) -> Option<BusPair>;
}

impl IntoBusOption for BusPair {
    fn into_bus_option(self) -> Option<BusPair> {
        Some(self)
    }
}

impl IntoBusOption for Option<BusPair> {
    fn into_bus_option(self) -> Option<BusPair> {
        self
    }
}

/// Used by the macro.
pub fn into_option(value: impl IntoBusOption) -> Option<BusPair> {
    value.into_bus_option()
}

fn message(room: RoomId, seq: u64, text: &str) -> ServerEvent {
    let sender = UserId::generate();
    ServerEvent::Message(Message {
        id: MessageId::generate(),
        room_id: room,
        seq,
        sender_id: sender,
        sender_name: "Ann ✓".into(),
        text: text.into(),
        client_id: Some(format!("c-{seq}")),
        timestamp: now(),
        event: None,
        edited_at: None,
        deleted: false,
        reactions: Vec::new(),
    })
}

fn marker() -> ServerEvent {
    ServerEvent::Presence {
        user_id: UserId::generate(),
        online: true,
    }
}

fn inbound(bus: &Arc<dyn Bus>) -> mpsc::Receiver<Inbound> {
    bus.take_inbound().expect("inbound stream already taken")
}

/// The next inbound item, failing the check if none comes in time.
pub async fn next(inbound: &mut mpsc::Receiver<Inbound>) -> Inbound {
    match tokio::time::timeout(PATIENCE, inbound.recv()).await {
        Ok(Some(item)) => item,
        Ok(None) => panic!("inbound stream closed"),
        Err(_) => panic!("nothing arrived within {PATIENCE:?}"),
    }
}

async fn expect(inbound: &mut mpsc::Receiver<Inbound>, user: UserId, event: &ServerEvent) {
    let expected = Inbound::Event {
        user,
        event: event.clone(),
    };
    assert_eq!(next(inbound).await, expected);
}

/// Publishes a fresh marker for `user` from `from` and expects it to be the next arrival.
async fn nothing_else_before_marker(
    from: &Arc<dyn Bus>,
    inbound: &mut mpsc::Receiver<Inbound>,
    user: UserId,
) {
    let marker = marker();
    from.publish(&[user], &marker).await.unwrap();
    expect(inbound, user, &marker).await;
}

/// Each node has an identity of its own, and a live bus says it is connected.
pub async fn nodes_are_distinct_and_connected((one, two): BusPair) {
    assert_ne!(one.node(), two.node());
    assert!(one.is_connected());
    assert!(two.is_connected());
}

/// The inbound stream is handed out once.
pub async fn inbound_is_taken_once((one, _): BusPair) {
    assert!(one.take_inbound().is_some());
    assert!(one.take_inbound().is_none());
}

/// Events reach the node watching their recipient, exactly as published, and nothing for
/// users it does not watch.
pub async fn events_reach_only_watchers((one, two): BusPair) {
    let mut received = inbound(&two);
    let (watched, unwatched) = (UserId::generate(), UserId::generate());
    two.watch(watched).await.unwrap();
    let event = message(RoomId::generate(), 1, "héllo, wörld 👋");
    one.publish(&[unwatched, watched], &event).await.unwrap();
    expect(&mut received, watched, &event).await;
    let presence = ServerEvent::Presence {
        user_id: UserId::generate(),
        online: false,
    };
    one.publish(&[unwatched], &presence).await.unwrap();
    nothing_else_before_marker(&one, &mut received, watched).await;
}

/// An event for several users watched on one node arrives once per user.
pub async fn each_watched_recipient_gets_the_event((one, two): BusPair) {
    let mut received = inbound(&two);
    let (ann, bob) = (UserId::generate(), UserId::generate());
    two.watch(ann).await.unwrap();
    two.watch(bob).await.unwrap();
    let event = message(RoomId::generate(), 1, "to both");
    one.publish(&[ann, bob], &event).await.unwrap();
    let mut users = vec![];
    for _ in 0..2 {
        match next(&mut received).await {
            Inbound::Event { user, event: got } => {
                assert_eq!(got, event);
                users.push(user);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    users.sort();
    let mut expected = vec![ann, bob];
    expected.sort();
    assert_eq!(users, expected);
}

/// A node never receives its own publications, even for users it watches too.
pub async fn publications_never_return_to_their_origin((one, two): BusPair) {
    let mut at_one = inbound(&one);
    let mut at_two = inbound(&two);
    let user = UserId::generate();
    one.watch(user).await.unwrap();
    two.watch(user).await.unwrap();
    let event = message(RoomId::generate(), 1, "from one");
    one.publish(&[user], &event).await.unwrap();
    expect(&mut at_two, user, &event).await;
    nothing_else_before_marker(&two, &mut at_one, user).await;
}

/// One publisher's events for one user arrive in publication order, none missing.
pub async fn one_publishers_events_keep_their_order((one, two): BusPair) {
    let mut received = inbound(&two);
    let user = UserId::generate();
    two.watch(user).await.unwrap();
    let room = RoomId::generate();
    let events: Vec<ServerEvent> = (1..=200)
        .map(|seq| message(room, seq, &format!("message {seq}")))
        .collect();
    for event in &events {
        one.publish(&[user], event).await.unwrap();
    }
    for event in &events {
        expect(&mut received, user, event).await;
    }
}

/// After `unwatch` a node receives nothing more for that user; watching again resumes.
pub async fn unwatch_stops_delivery((one, two): BusPair) {
    let mut received = inbound(&two);
    let (user, other) = (UserId::generate(), UserId::generate());
    two.watch(user).await.unwrap();
    two.watch(other).await.unwrap();
    let first = message(RoomId::generate(), 1, "while watched");
    one.publish(&[user], &first).await.unwrap();
    expect(&mut received, user, &first).await;
    two.unwatch(user).await.unwrap();
    one.publish(&[user], &message(RoomId::generate(), 2, "after unwatch"))
        .await
        .unwrap();
    nothing_else_before_marker(&one, &mut received, other).await;
    two.watch(user).await.unwrap();
    let again = message(RoomId::generate(), 3, "watched again");
    one.publish(&[user], &again).await.unwrap();
    expect(&mut received, user, &again).await;
}

/// Unwatching a user the node never watched is harmless, and so is publishing to nobody.
pub async fn stray_unwatch_and_empty_publish_are_harmless((one, two): BusPair) {
    let mut received = inbound(&two);
    let user = UserId::generate();
    two.unwatch(UserId::generate()).await.unwrap();
    one.publish(&[], &marker()).await.unwrap();
    two.watch(user).await.unwrap();
    nothing_else_before_marker(&one, &mut received, user).await;
}

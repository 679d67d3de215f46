//! The bus checks: one public async function per promise of the [`Bus`] trait.
//!
//! Each check gets two connected nodes of one deployment. "Nothing else arrived" is checked
//! without sleeping: a later marker event from the same publisher must be the next thing the
//! receiver sees, because the bus keeps each publisher's order.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::bus::{Bus, Inbound, Topic};
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
        attachments: Vec::new(),
    })
}

fn marker() -> ServerEvent {
    ServerEvent::Presence {
        user_id: UserId::generate(),
        online: true,
    }
}

fn user_topic() -> Topic {
    Topic::User(UserId::generate())
}

fn room_topic() -> Topic {
    Topic::Room(RoomId::generate())
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

async fn expect(inbound: &mut mpsc::Receiver<Inbound>, topic: Topic, event: &ServerEvent) {
    let expected = Inbound::Event {
        topic,
        event: event.clone(),
    };
    assert_eq!(next(inbound).await, expected);
}

/// Publishes a fresh marker on `topic` from `from` and expects it to be the next arrival.
async fn nothing_else_before_marker(
    from: &Arc<dyn Bus>,
    inbound: &mut mpsc::Receiver<Inbound>,
    topic: Topic,
) {
    let marker = marker();
    from.publish(&[topic], &marker).await.unwrap();
    expect(inbound, topic, &marker).await;
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

/// Events reach the node watching their topic, exactly as published, and nothing for
/// topics it does not watch.
pub async fn events_reach_only_watchers((one, two): BusPair) {
    let mut received = inbound(&two);
    let (watched, unwatched) = (room_topic(), user_topic());
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

/// An event on several topics watched on one node arrives once per topic.
pub async fn each_watched_recipient_gets_the_event((one, two): BusPair) {
    let mut received = inbound(&two);
    let (ann, bob) = (user_topic(), room_topic());
    two.watch(ann).await.unwrap();
    two.watch(bob).await.unwrap();
    let event = message(RoomId::generate(), 1, "to both");
    one.publish(&[ann, bob], &event).await.unwrap();
    let mut topics = vec![];
    for _ in 0..2 {
        match next(&mut received).await {
            Inbound::Event { topic, event: got } => {
                assert_eq!(got, event);
                topics.push(topic);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(topics.len(), 2);
    assert!(topics.contains(&ann) && topics.contains(&bob));
}

/// A node never receives its own publications, even on topics it watches too.
pub async fn publications_never_return_to_their_origin((one, two): BusPair) {
    let mut at_one = inbound(&one);
    let mut at_two = inbound(&two);
    let user = user_topic();
    one.watch(user).await.unwrap();
    two.watch(user).await.unwrap();
    let event = message(RoomId::generate(), 1, "from one");
    one.publish(&[user], &event).await.unwrap();
    expect(&mut at_two, user, &event).await;
    nothing_else_before_marker(&two, &mut at_one, user).await;
}

/// One publisher's events on one topic arrive in publication order, none missing.
pub async fn one_publishers_events_keep_their_order((one, two): BusPair) {
    let mut received = inbound(&two);
    let user = user_topic();
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

/// After `unwatch` a node receives nothing more on that topic; watching again resumes.
pub async fn unwatch_stops_delivery((one, two): BusPair) {
    let mut received = inbound(&two);
    let (user, other) = (room_topic(), user_topic());
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

/// Unwatching a topic the node never watched is harmless, and so is publishing to nowhere.
pub async fn stray_unwatch_and_empty_publish_are_harmless((one, two): BusPair) {
    let mut received = inbound(&two);
    let user = user_topic();
    two.unwatch(room_topic()).await.unwrap();
    one.publish(&[], &marker()).await.unwrap();
    two.watch(user).await.unwrap();
    nothing_else_before_marker(&one, &mut received, user).await;
}

/// One publisher's events on different topics reach a node watching both in publication
/// order: what the engine relies on when a membership notice precedes the room's next
/// message.
pub async fn order_holds_across_topics((one, two): BusPair) {
    let mut received = inbound(&two);
    let (notices, room) = (user_topic(), room_topic());
    two.watch(notices).await.unwrap();
    two.watch(room).await.unwrap();
    let events: Vec<(Topic, ServerEvent)> = (1..=100)
        .map(|seq| {
            let topic = if seq % 3 == 0 { notices } else { room };
            (topic, message(RoomId::generate(), seq, "interleaved"))
        })
        .collect();
    for (topic, event) in &events {
        one.publish(&[*topic], event).await.unwrap();
    }
    for (topic, event) in &events {
        expect(&mut received, *topic, event).await;
    }
}

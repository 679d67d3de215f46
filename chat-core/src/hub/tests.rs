//! Unit tests of the hub: who receives what, overflow, ordering, joining and leaving rooms,
//! and the bus topics it asks for.

use super::*;
use crate::event::{Outbound, ServerEvent};
use crate::model::{Message, now};

fn message(room: RoomId, seq: u64) -> Delivery {
    Outbound::new(ServerEvent::Message(Message {
        id: crate::id::MessageId::generate(),
        room_id: room,
        seq,
        sender_id: UserId::generate(),
        sender_name: "s".into(),
        text: format!("m{seq}"),
        client_id: None,
        timestamp: now(),
        event: None,
        edited_at: None,
        deleted: false,
        reactions: Vec::new(),
        attachments: Vec::new(),
    }))
}

/// A report's gaps when it names just `missing` in `room`.
fn one_gap(room: RoomId, missing: Range<u64>) -> Vec<Gap> {
    vec![Gap { room, missing }]
}

fn seq_of(next: Next) -> u64 {
    match next {
        Next::Event(delivery) => delivery.event().room_seq().unwrap().1,
        other => panic!("expected an event, got {other:?}"),
    }
}

fn entry(room: RoomId, seq: u64, event: crate::membership::RoomEvent) -> Delivery {
    let delivery = message(room, seq);
    let ServerEvent::Message(mut message) = delivery.event().clone() else {
        unreachable!()
    };
    message.event = Some(event);
    Outbound::new(ServerEvent::Message(message))
}

fn presence() -> Delivery {
    Outbound::new(ServerEvent::Presence {
        user_id: UserId::generate(),
        online: true,
    })
}

fn changes(interest: &mut mpsc::UnboundedReceiver<Interest>) -> Vec<String> {
    let mut seen = Vec::new();
    while let Ok(change) = interest.try_recv() {
        seen.push(match change {
            Interest::Watch(topic) => format!("+{topic}"),
            Interest::Unwatch(topic) => format!("-{topic}"),
            Interest::Barrier(_) => "barrier".into(),
        });
    }
    seen
}

#[tokio::test]
async fn delivers_to_every_socket_following_the_room_and_nobody_else() {
    let hub = Hub::new(8);
    let room = RoomId::generate();
    let (alice, bob, eve) = (UserId::generate(), UserId::generate(), UserId::generate());
    let (mut a1, opened) = hub.register(alice, ConnId::generate(), [(room, 0)]);
    assert_eq!(opened, [room]);
    let (mut a2, opened) = hub.register(alice, ConnId::generate(), [(room, 0)]);
    assert!(opened.is_empty());
    let (mut b, _) = hub.register(bob, ConnId::generate(), [(room, 0)]);
    let (mut e, _) = hub.register(eve, ConnId::generate(), [(RoomId::generate(), 0)]);
    let report = hub.deliver_room(room, &message(room, 1));
    assert_eq!(report.queued, 3);
    for sub in [&mut a1, &mut a2, &mut b] {
        assert_eq!(seq_of(sub.next().await), 1);
    }
    assert!(e.try_next().is_none());
    assert_eq!(
        hub.deliver_room(RoomId::generate(), &message(room, 2))
            .queued,
        0
    );
}

#[tokio::test]
async fn user_events_reach_every_socket_of_the_user() {
    let hub = Hub::new(8);
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let (mut a1, _) = hub.register(alice, ConnId::generate(), []);
    let (mut a2, _) = hub.register(alice, ConnId::generate(), []);
    let (mut b, _) = hub.register(bob, ConnId::generate(), []);
    assert_eq!(hub.deliver_users(&[alice], &presence()).queued, 2);
    assert!(matches!(a1.next().await, Next::Event(_)));
    assert!(matches!(a2.next().await, Next::Event(_)));
    assert!(b.try_next().is_none());
}

#[tokio::test]
async fn a_full_queue_cuts_off_only_that_socket() {
    let hub = Hub::new(2);
    let room = RoomId::generate();
    let (slow_user, fast_user) = (UserId::generate(), UserId::generate());
    let (mut slow, _) = hub.register(slow_user, ConnId::generate(), [(room, 0)]);
    let (mut fast, _) = hub.register(fast_user, ConnId::generate(), [(room, 0)]);
    let mut overflowed = 0;
    for seq in 1..=4 {
        let report = hub.deliver_room(room, &message(room, seq));
        overflowed += report.overflowed;
        assert_eq!(seq_of(fast.next().await), seq);
    }
    assert_eq!(overflowed, 1, "a cut-off socket leaves the room");
    assert!(matches!(slow.next().await, Next::Overflowed));
}

#[tokio::test]
async fn a_waiting_socket_is_woken_by_a_delivery_from_another_task() {
    let hub = Arc::new(Hub::new(8));
    let room = RoomId::generate();
    let (mut waiting, _) = hub.register(UserId::generate(), ConnId::generate(), [(room, 0)]);
    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            hub.deliver_room(room, &message(room, 1)).queued
        })
    };
    let next = tokio::time::timeout(std::time::Duration::from_secs(5), waiting.next())
        .await
        .expect("the delivery wakes the waiting socket");
    assert_eq!(seq_of(next), 1);
    assert_eq!(publisher.await.unwrap(), 1);
}

#[tokio::test]
async fn revoking_and_closing_end_a_socket_whatever_it_has_queued() {
    let hub = Hub::new(8);
    let room = RoomId::generate();
    let (alice, bob) = (UserId::generate(), UserId::generate());
    let alice_conn = ConnId::generate();
    let (mut revoked, _) = hub.register(alice, alice_conn, [(room, 0)]);
    let (mut closed, _) = hub.register(bob, ConnId::generate(), [(room, 0)]);
    hub.deliver_room(room, &message(room, 1));
    hub.revoke(alice, alice_conn);
    assert!(matches!(revoked.next().await, Next::Revoked));
    assert!(revoked.try_next().is_none());
    hub.close_all();
    assert!(matches!(closed.next().await, Next::Closed));
}

#[tokio::test]
async fn a_dropped_subscription_leaves_its_rooms_at_the_next_delivery() {
    let hub = Hub::new(8);
    let room = RoomId::generate();
    let (gone, _) = hub.register(UserId::generate(), ConnId::generate(), [(room, 0)]);
    let (mut staying, _) = hub.register(UserId::generate(), ConnId::generate(), [(room, 0)]);
    drop(gone);
    let report = hub.deliver_room(room, &message(room, 1));
    assert_eq!((report.queued, report.overflowed), (1, 0));
    assert_eq!(seq_of(staying.next().await), 1);
    assert_eq!(hub.deliver_room(room, &message(room, 2)).queued, 1);
}

#[tokio::test]
async fn out_of_order_messages_are_reordered_and_one_gap_is_reported_per_room() {
    let hub = Hub::new(16);
    let room = RoomId::generate();
    let mut subs: Vec<Subscription> = (0..10)
        .map(|_| {
            hub.register(UserId::generate(), ConnId::generate(), [(room, 0)])
                .0
        })
        .collect();
    hub.deliver_room(room, &message(room, 1));
    let report = hub.deliver_room(room, &message(room, 3));
    assert_eq!(report.gaps, one_gap(room, 2..3));
    assert_eq!(hub.still_missing(room, &(2..3)), Some(2..3));
    hub.deliver_room(room, &message(room, 2));
    hub.deliver_room(room, &message(room, 2));
    assert_eq!(hub.still_missing(room, &(2..3)), None);
    for sub in &mut subs {
        let seqs: Vec<u64> = [sub.next().await, sub.next().await, sub.next().await]
            .into_iter()
            .map(seq_of)
            .collect();
        assert_eq!(seqs, [1, 2, 3]);
        assert!(sub.try_next().is_none());
    }
}

#[tokio::test]
async fn a_gap_left_open_by_a_release_is_reported_as_a_new_one() {
    let hub = Hub::new(16);
    let room = RoomId::generate();
    let (_sub, _) = hub.register(UserId::generate(), ConnId::generate(), [(room, 0)]);
    hub.deliver_room(room, &message(room, 1));
    let first = hub.deliver_room(room, &message(room, 3));
    assert_eq!(first.gaps, one_gap(room, 2..3));
    assert!(hub.deliver_room(room, &message(room, 5)).gaps.is_empty());
    let released = hub.deliver_room(room, &message(room, 2));
    assert_eq!(released.gaps, one_gap(room, 4..5));
    let skipped = hub.skip_gap(room, 5);
    assert!(skipped.gaps.is_empty());

    hub.deliver_room(room, &message(room, 7));
    hub.deliver_room(room, &message(room, 9));
    let skipped = hub.skip_gap(room, 7);
    assert_eq!(skipped.gaps, one_gap(room, 8..9));
}

#[tokio::test]
async fn skipping_a_gap_releases_held_messages() {
    let hub = Hub::new(16);
    let room = RoomId::generate();
    let (mut sub, _) = hub.register(UserId::generate(), ConnId::generate(), [(room, 0)]);
    hub.deliver_room(room, &message(room, 1));
    hub.deliver_room(room, &message(room, 3));
    assert_eq!(hub.skip_gap(room, 3).queued, 1);
    assert_eq!(seq_of(sub.next().await), 1);
    assert_eq!(seq_of(sub.next().await), 3);
}

#[tokio::test]
async fn a_fresh_line_starts_after_the_latest_stored_seq_not_at_the_first_arrival() {
    let hub = Hub::new(16);
    let room = RoomId::generate();
    let (mut sub, _) = hub.register(UserId::generate(), ConnId::generate(), [(room, 3)]);
    let report = hub.deliver_room(room, &message(room, 5));
    assert_eq!(report.queued, 0);
    assert_eq!(report.gaps, one_gap(room, 4..5));
    assert_eq!(hub.deliver_room(room, &message(room, 4)).queued, 2);
    assert_eq!(seq_of(sub.next().await), 4);
    assert_eq!(seq_of(sub.next().await), 5);
    assert_eq!(hub.deliver_room(room, &message(room, 3)).queued, 0);
}

#[tokio::test]
async fn a_late_socket_gets_what_the_line_passed_after_its_view_once() {
    let hub = Hub::new(16);
    let room = RoomId::generate();
    let (mut first, _) = hub.register(UserId::generate(), ConnId::generate(), [(room, 3)]);
    hub.deliver_room(room, &message(room, 4));
    hub.deliver_room(room, &message(room, 5));
    let (mut late, _) = hub.register(UserId::generate(), ConnId::generate(), [(room, 4)]);
    assert_eq!(
        seq_of(late.next().await),
        5,
        "replayed from the room's recent events"
    );
    hub.deliver_room(room, &message(room, 6));
    assert_eq!(seq_of(late.next().await), 6);
    assert!(late.try_next().is_none());
    let seqs: Vec<u64> = [first.next().await, first.next().await, first.next().await]
        .into_iter()
        .map(seq_of)
        .collect();
    assert_eq!(seqs, [4, 5, 6]);
}

#[tokio::test]
async fn a_socket_ahead_of_the_line_skips_what_came_before_its_view() {
    let hub = Hub::new(16);
    let room = RoomId::generate();
    let (mut behind, _) = hub.register(UserId::generate(), ConnId::generate(), [(room, 1)]);
    let (mut ahead, _) = hub.register(UserId::generate(), ConnId::generate(), [(room, 3)]);
    for seq in 2..=4 {
        hub.deliver_room(room, &message(room, seq));
    }
    assert_eq!(seq_of(ahead.next().await), 4);
    assert!(ahead.try_next().is_none());
    for seq in 2..=4 {
        assert_eq!(seq_of(behind.next().await), seq);
    }
}

#[tokio::test]
async fn joining_follows_from_the_entry_and_removal_ends_with_it() {
    use crate::membership::{Role, RoomEvent};
    let hub = Hub::new(16);
    let room = RoomId::generate();
    let (member, joiner) = (UserId::generate(), UserId::generate());
    let (mut staying, _) = hub.register(member, ConnId::generate(), [(room, 6)]);
    let (mut sub, _) = hub.register(joiner, ConnId::generate(), []);
    let added = RoomEvent::Added {
        user_id: joiner,
        role: Role::Member,
    };
    assert!(
        !hub.join(room, joiner, 7),
        "the room was followed here already"
    );
    hub.deliver_room(room, &entry(room, 7, added.clone()));
    assert_eq!(seq_of(sub.next().await), 7);
    hub.deliver_room(
        room,
        &entry(room, 8, RoomEvent::Removed { user_id: joiner }),
    );
    assert_eq!(seq_of(sub.next().await), 8, "the removal is its last event");
    hub.deliver_room(room, &message(room, 9));
    assert!(sub.try_next().is_none());
    for seq in 7..=9 {
        assert_eq!(seq_of(staying.next().await), seq);
    }
    assert!(!hub.join(room, joiner, 12));
    hub.deliver_room(room, &message(room, 10));
    hub.deliver_room(room, &message(room, 11));
    hub.deliver_room(room, &entry(room, 12, added));
    assert_eq!(seq_of(sub.next().await), 12, "re-added afresh");
}

#[tokio::test]
async fn the_hub_asks_for_the_topics_its_sockets_need_in_order() {
    use crate::bus::Topic;
    let (tell, mut interest) = mpsc::unbounded_channel();
    let hub = Hub::with_interest(16, tell);
    let (room, other) = (RoomId::generate(), RoomId::generate());
    let (ann, bob) = (UserId::generate(), UserId::generate());
    let (a, _) = hub.register(ann, ConnId::generate(), [(room, 0)]);
    let (b, _) = hub.register(bob, ConnId::generate(), [(room, 0)]);
    assert!(hub.join(other, bob, 1));
    assert_eq!(
        changes(&mut interest),
        [
            format!("+{}", Topic::User(ann)),
            format!("+{}", Topic::Room(room)),
            format!("+{}", Topic::User(bob)),
            format!("+{}", Topic::Room(other)),
        ]
    );
    hub.deliver_room(
        other,
        &entry(
            other,
            1,
            crate::membership::RoomEvent::Left { user_id: bob },
        ),
    );
    assert_eq!(changes(&mut interest), [format!("-{}", Topic::Room(other))]);
    assert!(hub.unregister(ann, a.conn()));
    assert_eq!(changes(&mut interest), [format!("-{}", Topic::User(ann))]);
    assert!(hub.unregister(bob, b.conn()));
    assert_eq!(
        changes(&mut interest),
        [
            format!("-{}", Topic::Room(room)),
            format!("-{}", Topic::User(bob)),
        ]
    );
    assert!(hub.local_users().is_empty());
    assert!(hub.rooms().is_empty());
}

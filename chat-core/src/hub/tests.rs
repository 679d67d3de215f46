//! Unit tests of the hub: who receives what, overflow, ordering.

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
    }))
}

fn seq_of(next: Next) -> u64 {
    match next {
        Next::Event(delivery) => delivery.event().room_seq().unwrap().1,
        other => panic!("expected an event, got {other:?}"),
    }
}

#[tokio::test]
async fn delivers_to_every_socket_of_recipients_and_nobody_else() {
    let hub = Hub::new(8);
    let (alice, bob, eve) = (UserId::generate(), UserId::generate(), UserId::generate());
    let (mut a1, first) = hub.register(alice, ConnId::generate(), []);
    assert!(first);
    let (mut a2, first) = hub.register(alice, ConnId::generate(), []);
    assert!(!first);
    let (mut b, _) = hub.register(bob, ConnId::generate(), []);
    let (mut e, _) = hub.register(eve, ConnId::generate(), []);
    let room = RoomId::generate();
    let report = hub.deliver(&[alice, bob], &message(room, 1));
    assert_eq!(report.queued, 3);
    for sub in [&mut a1, &mut a2, &mut b] {
        assert_eq!(seq_of(sub.next().await), 1);
    }
    assert!(e.try_next().is_none());
}

#[tokio::test]
async fn a_full_queue_cuts_off_only_that_socket() {
    let hub = Hub::new(2);
    let (slow_user, fast_user) = (UserId::generate(), UserId::generate());
    let (mut slow, _) = hub.register(slow_user, ConnId::generate(), []);
    let (mut fast, _) = hub.register(fast_user, ConnId::generate(), []);
    let room = RoomId::generate();
    let mut overflowed = 0;
    for seq in 1..=3 {
        let report = hub.deliver(&[slow_user, fast_user], &message(room, seq));
        overflowed += report.overflowed;
        assert_eq!(seq_of(fast.next().await), seq);
    }
    assert_eq!(overflowed, 1);
    assert!(matches!(slow.next().await, Next::Overflowed));
    assert_eq!(hub.sockets_of(slow_user), 0);
    assert_eq!(hub.sockets_of(fast_user), 1);
}

#[tokio::test]
async fn out_of_order_messages_are_reordered_and_gaps_reported() {
    let hub = Hub::new(16);
    let user = UserId::generate();
    let (mut sub, _) = hub.register(user, ConnId::generate(), []);
    let room = RoomId::generate();
    hub.deliver(&[user], &message(room, 1));
    let report = hub.deliver(&[user], &message(room, 3));
    assert_eq!(
        report.gaps,
        vec![Gap {
            user,
            room,
            missing: 2..3
        }]
    );
    assert_eq!(hub.still_missing(&report.gaps[0]), Some(2..3));
    hub.deliver(&[user], &message(room, 2));
    hub.deliver(&[user], &message(room, 2));
    let seqs: Vec<u64> = [sub.next().await, sub.next().await, sub.next().await]
        .into_iter()
        .map(seq_of)
        .collect();
    assert_eq!(seqs, [1, 2, 3]);
    assert!(sub.try_next().is_none());
}

#[tokio::test]
async fn skipping_a_gap_releases_held_messages() {
    let hub = Hub::new(16);
    let user = UserId::generate();
    let (mut sub, _) = hub.register(user, ConnId::generate(), []);
    let room = RoomId::generate();
    hub.deliver(&[user], &message(room, 1));
    hub.deliver(&[user], &message(room, 3));
    assert_eq!(hub.skip_gap(user, room, 3).queued, 1);
    assert_eq!(seq_of(sub.next().await), 1);
    assert_eq!(seq_of(sub.next().await), 3);
}

#[tokio::test]
async fn unregistering_the_last_socket_forgets_the_user() {
    let hub = Hub::new(4);
    let user = UserId::generate();
    let (one, _) = hub.register(user, ConnId::generate(), []);
    let (two, _) = hub.register(user, ConnId::generate(), []);
    assert!(!hub.unregister(user, one.conn()));
    assert!(hub.unregister(user, two.conn()));
    assert!(hub.local_users().is_empty());
}

#[tokio::test]
async fn a_fresh_line_starts_after_the_latest_stored_seq_not_at_the_first_arrival() {
    let hub = Hub::new(16);
    let user = UserId::generate();
    let room = RoomId::generate();
    let (mut sub, _) = hub.register(user, ConnId::generate(), [(room, 3)]);
    let report = hub.deliver(&[user], &message(room, 5));
    assert_eq!(report.queued, 0);
    assert_eq!(
        report.gaps,
        vec![Gap {
            user,
            room,
            missing: 4..5
        }]
    );
    assert_eq!(hub.deliver(&[user], &message(room, 4)).queued, 2);
    assert_eq!(seq_of(sub.next().await), 4);
    assert_eq!(seq_of(sub.next().await), 5);
    assert_eq!(hub.deliver(&[user], &message(room, 3)).queued, 0);
}

#[tokio::test]
async fn a_room_created_after_the_socket_came_starts_at_one() {
    let hub = Hub::new(16);
    let user = UserId::generate();
    let (mut sub, _) = hub.register(user, ConnId::generate(), []);
    let room = RoomId::generate();
    hub.deliver(&[user], &message(room, 2));
    hub.deliver(&[user], &message(room, 1));
    assert_eq!(seq_of(sub.next().await), 1);
    assert_eq!(seq_of(sub.next().await), 2);
}

#[tokio::test]
async fn a_second_socket_shares_the_lines_of_the_first() {
    let hub = Hub::new(16);
    let user = UserId::generate();
    let room = RoomId::generate();
    let (mut first, _) = hub.register(user, ConnId::generate(), [(room, 3)]);
    hub.deliver(&[user], &message(room, 4));
    let (mut second, is_first) = hub.register(user, ConnId::generate(), [(room, 9)]);
    assert!(!is_first);
    hub.deliver(&[user], &message(room, 5));
    assert_eq!(seq_of(first.next().await), 4);
    assert_eq!(seq_of(first.next().await), 5);
    assert_eq!(seq_of(second.next().await), 5);
}

fn entry(room: RoomId, seq: u64, event: crate::membership::RoomEvent) -> Delivery {
    let delivery = message(room, seq);
    let ServerEvent::Message(mut message) = delivery.event().clone() else {
        unreachable!()
    };
    message.event = Some(event);
    Outbound::new(ServerEvent::Message(message))
}

#[tokio::test]
async fn a_line_starts_at_the_entry_adding_the_user_and_ends_with_its_removal() {
    use crate::membership::{Role, RoomEvent};
    let hub = Hub::new(16);
    let user = UserId::generate();
    let room = RoomId::generate();
    let (mut sub, _) = hub.register(user, ConnId::generate(), []);
    let added = RoomEvent::Added {
        user_id: user,
        role: Role::Member,
    };
    let report = hub.deliver(&[user], &entry(room, 7, added.clone()));
    assert_eq!(
        (report.queued, report.gaps.len()),
        (1, 0),
        "no gap before 7"
    );
    assert_eq!(seq_of(sub.next().await), 7);
    hub.deliver(
        &[user],
        &entry(room, 8, RoomEvent::Removed { user_id: user }),
    );
    assert_eq!(seq_of(sub.next().await), 8);

    let report = hub.deliver(&[user], &entry(room, 12, added));
    assert_eq!(
        (report.queued, report.gaps.len()),
        (1, 0),
        "re-added afresh"
    );
    assert_eq!(seq_of(sub.next().await), 12);
}

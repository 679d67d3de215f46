//! The local fanout hub: one message to a room of N local sockets, and one message in each
//! of many rooms (direct pairs, and 1,000 rooms of 100). Throughput is in deliveries (events
//! queued on sockets) per second; its inverse is the hub's cost per delivery.
//!
//! Run: `cargo bench -p chat-benches --bench fanout`.

// criterion_group! generates functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chat_core::event::{Delivery, Outbound, ServerEvent};
use chat_core::hub::{Hub, Subscription};
use chat_core::model::{Message, now};
use chat_core::{ConnId, MessageId, RoomId, UserId};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn message(room: RoomId, sender: UserId, seq: u64) -> Delivery {
    Outbound::new(ServerEvent::Message(Message {
        id: MessageId::generate(),
        room_id: room,
        seq,
        sender_id: sender,
        sender_name: "Sender".into(),
        text: "a short chat message of typical length".into(),
        client_id: Some("c".into()),
        timestamp: now(),
        event: None,
        edited_at: None,
        deleted: false,
        reactions: Vec::new(),
        attachments: Vec::new(),
    }))
}

/// One socket for each of `users`, all following `room`.
fn subscribe(hub: &Hub, room: RoomId, users: &[UserId]) -> Vec<Subscription> {
    users
        .iter()
        .map(|&user| hub.register(user, ConnId::generate(), [(room, 0)]).0)
        .collect()
}

fn drain(subscriptions: &mut [Subscription]) {
    for subscription in subscriptions {
        while subscription.try_next().is_some() {}
    }
}

/// One message to one room followed by N local sockets.
fn one_event_to_n(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout_one_event");
    for n in [1usize, 10, 100, 1_000, 10_000] {
        let hub = Hub::new(1024);
        let room = RoomId::generate();
        let users: Vec<UserId> = (0..n).map(|_| UserId::generate()).collect();
        let mut subscriptions = subscribe(&hub, room, &users);
        let mut seq = 0;
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_custom(|iterations| {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    seq += 1;
                    let delivery = message(room, users[0], seq);
                    let started = Instant::now();
                    black_box(hub.deliver_room(room, &delivery));
                    spent += started.elapsed();
                    drain(&mut subscriptions);
                }
                spent
            });
        });
    }
    group.finish();
}

/// Many rooms at once: one message in each of R rooms of K members (K = 2: direct rooms).
fn many_rooms(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout_many_rooms");
    for (rooms, members) in [(1_000usize, 2usize), (10_000, 2), (1_000, 100)] {
        let hub = Hub::new(1024);
        let layout: Vec<(RoomId, Vec<UserId>)> = (0..rooms)
            .map(|_| {
                let users = (0..members).map(|_| UserId::generate()).collect();
                (RoomId::generate(), users)
            })
            .collect();
        let mut subscriptions: Vec<Subscription> = layout
            .iter()
            .flat_map(|(room, users)| subscribe(&hub, *room, users))
            .collect();
        let mut seq = 0;
        let name = format!("{rooms}x{members}");
        group.throughput(Throughput::Elements((rooms * members) as u64));
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.iter_custom(|iterations| {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    seq += 1;
                    let deliveries: Vec<Delivery> = layout
                        .iter()
                        .map(|(room, users)| message(*room, users[0], seq))
                        .collect();
                    let started = Instant::now();
                    for ((room, _), delivery) in layout.iter().zip(&deliveries) {
                        black_box(hub.deliver_room(*room, delivery));
                    }
                    spent += started.elapsed();
                    drain(&mut subscriptions);
                }
                spent
            });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = one_event_to_n, many_rooms
}
criterion_main!(benches);

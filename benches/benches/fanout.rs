//! The local fanout hub: one message to N subscribers, and one message in each of many
//! two-member rooms. Throughput is in deliveries (events queued on sockets) per second.
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
    }))
}

fn subscribe(hub: &Hub, users: &[UserId]) -> Vec<Subscription> {
    users
        .iter()
        .map(|&user| hub.register(user, ConnId::generate(), []).0)
        .collect()
}

fn drain(subscriptions: &mut [Subscription]) {
    for subscription in subscriptions {
        while subscription.try_next().is_some() {}
    }
}

/// One room-less broadcast: a message whose recipients are N users with one socket each.
fn one_event_to_n(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout_one_event");
    for n in [1usize, 10, 100, 1_000, 10_000] {
        let hub = Hub::new(1024);
        let users: Vec<UserId> = (0..n).map(|_| UserId::generate()).collect();
        let mut subscriptions = subscribe(&hub, &users);
        let room = RoomId::generate();
        let mut seq = 0;
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter_custom(|iterations| {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    seq += 1;
                    let delivery = message(room, users[0], seq);
                    let started = Instant::now();
                    black_box(hub.deliver(&users, &delivery));
                    spent += started.elapsed();
                    drain(&mut subscriptions);
                }
                spent
            });
        });
    }
    group.finish();
}

/// Many direct rooms at once: one message in each of R rooms of two members.
fn many_rooms(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout_many_rooms");
    for rooms in [100usize, 1_000, 10_000] {
        let hub = Hub::new(1024);
        let pairs: Vec<(RoomId, [UserId; 2])> = (0..rooms)
            .map(|_| (RoomId::generate(), [UserId::generate(), UserId::generate()]))
            .collect();
        let everyone: Vec<UserId> = pairs.iter().flat_map(|(_, pair)| *pair).collect();
        let mut subscriptions = subscribe(&hub, &everyone);
        let mut seq = 0;
        group.throughput(Throughput::Elements(2 * rooms as u64));
        group.bench_with_input(BenchmarkId::from_parameter(rooms), &rooms, |b, _| {
            b.iter_custom(|iterations| {
                let mut spent = Duration::ZERO;
                for _ in 0..iterations {
                    seq += 1;
                    let deliveries: Vec<Delivery> = pairs
                        .iter()
                        .map(|(room, pair)| message(*room, pair[0], seq))
                        .collect();
                    let started = Instant::now();
                    for ((_, pair), delivery) in pairs.iter().zip(&deliveries) {
                        black_box(hub.deliver(pair, delivery));
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

//! The cost of encoding one message event as the text frame every socket of its room is sent
//! (`chat_http::wire::encode_event`): done once per message on the send path, so it counts
//! against each message's CPU budget like the store's append does.
//!
//! Run: `cargo bench -p chat-benches --bench encode`.

// criterion_group! generates functions that cannot carry doc comments.
#![allow(missing_docs)]

use chat_core::event::ServerEvent;
use chat_core::model::NewMessage;
use chat_core::{MessageId, RoomId, UserId};
use chat_http::wire::encode_event;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn message_event() -> ServerEvent {
    let message = NewMessage {
        id: MessageId::generate(),
        room_id: RoomId::generate(),
        sender_id: UserId::generate(),
        sender_name: "Ann".into(),
        text: "x".repeat(100),
        client_id: Some("c-0001".into()),
        timestamp: chrono::Utc::now(),
        attachments: Vec::new(),
    };
    ServerEvent::Message(message.with_seq(42))
}

fn encode(c: &mut Criterion) {
    let event = message_event();
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("message_event_100_bytes", |b| {
        b.iter(|| encode_event(std::hint::black_box(&event)))
    });
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);

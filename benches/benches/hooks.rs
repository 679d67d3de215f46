//! The cost of the host's `on_send` hook per message, measured in one run: the engine over
//! the memory store sending into one direct room with no hooks, with a hook that accepts
//! every message, and with one that rewrites every message's text.
//!
//! Run: `cargo bench -p chat-benches --bench hooks`.

// criterion_group! generates functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::sync::Arc;

use chat_core::hooks::{Hooks, OutgoingMessage, Verdict};
use chat_core::limits::Quota;
use chat_core::memory::MemoryStore;
use chat_core::model::User;
use chat_core::{Engine, EngineConfig, RoomId, TokenKeys};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

/// Accepts every message as sent.
struct Accept;

#[async_trait::async_trait]
impl Hooks for Accept {
    async fn on_send(&self, _engine: &Engine, _message: &OutgoingMessage<'_>) -> Verdict {
        Verdict::Accept
    }
}

/// Replaces every message's text, as a moderation hook masking words would.
struct Rewrite;

#[async_trait::async_trait]
impl Hooks for Rewrite {
    async fn on_send(&self, _engine: &Engine, message: &OutgoingMessage<'_>) -> Verdict {
        Verdict::Rewrite(message.text.replace("darn", "****"))
    }
}

async fn subject(hooks: Option<Arc<dyn Hooks>>) -> (Engine, User, RoomId) {
    let quota = Quota {
        per_second: 100_000_000,
        burst: 100_000_000,
    };
    let config = EngineConfig {
        quota,
        ..EngineConfig::default()
    };
    let mut builder =
        Engine::builder(Arc::new(MemoryStore::new()), TokenKeys::from_secret(b"b")).config(config);
    if let Some(hooks) = hooks {
        builder = builder.hooks(hooks);
    }
    let engine = builder.build();
    let ann = engine.upsert_external_user("ann", "Ann").await.unwrap();
    let bob = engine.upsert_external_user("bob", "Bob").await.unwrap();
    let room = engine.open_direct(ann.id, bob.id).await.unwrap().room.id;
    (engine, ann, room)
}

fn send(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let mut group = c.benchmark_group("send_with_hook");
    group.throughput(Throughput::Elements(1));
    let cases: [(&str, Option<Arc<dyn Hooks>>); 3] = [
        ("none", None),
        ("accept", Some(Arc::new(Accept))),
        ("rewrite", Some(Arc::new(Rewrite))),
    ];
    for (name, hooks) in cases {
        let (engine, ann, room) = runtime.block_on(subject(hooks));
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&runtime).iter(|| async {
                engine
                    .send(&ann, room, "well darn, hello", None)
                    .await
                    .unwrap()
            });
        });
    }
    group.finish();
}

criterion_group!(benches, send);
criterion_main!(benches);

//! Stores compared in one run: message appends per second (one at a time, and 64 in flight,
//! where group commit pays) and history-page reads per second (50 messages, newest first),
//! on the embedded SQLite store and, when `CHAT_TEST_MONGO_URL` is set, on MongoDB.
//!
//! Run: `scripts/test --with-services -- cargo bench -p chat-benches --bench stores`.

// criterion_group! generates functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_core::model::{NewMessage, NewUser, now};
use chat_core::store::Store;
use chat_core::{MessageId, RoomId, UserId};
use chat_store_mongo::MongoStore;
use chat_store_sqlite::SqliteStore;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const IN_FLIGHT: usize = 64;
const HISTORY: usize = 2_000;

struct Subject {
    name: &'static str,
    store: Arc<dyn Store>,
    room: RoomId,
    sender: UserId,
    _dir: Option<tempfile::TempDir>,
}

fn message(room: RoomId, sender: UserId) -> NewMessage {
    NewMessage {
        id: MessageId::generate(),
        room_id: room,
        sender_id: sender,
        sender_name: "Bench".into(),
        text: "a short chat message of typical length".into(),
        client_id: None,
        timestamp: now(),
        attachments: Vec::new(),
    }
}

async fn prepare(
    name: &'static str,
    store: Arc<dyn Store>,
    dir: Option<tempfile::TempDir>,
) -> Subject {
    let users: Vec<NewUser> = (0..2)
        .map(|i| NewUser {
            id: UserId::generate(),
            email: format!("bench{i}-{}@example.com", UserId::generate()),
            name: format!("B{i}"),
            password_hash: "$argon2id$unused".into(),
            created_at: now(),
        })
        .collect();
    let (a, b) = (users[0].id, users[1].id);
    store.create_users(users).await.unwrap();
    let room = store.direct_room(a, b, now()).await.unwrap().id;
    for _ in 0..HISTORY {
        store.append(message(room, a)).await.unwrap();
    }
    Subject {
        name,
        store,
        room,
        sender: a,
        _dir: dir,
    }
}

fn subjects(runtime: &Runtime) -> Vec<Subject> {
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Arc::new(SqliteStore::open(&dir.path().join("bench.sqlite3")).unwrap());
        let mut subjects = vec![prepare("sqlite", sqlite, Some(dir)).await];
        match std::env::var("CHAT_TEST_MONGO_URL") {
            Ok(url) if !url.is_empty() => {
                let database = format!("bench_{}", UserId::generate());
                let mongo = Arc::new(MongoStore::connect(&url, &database).await.unwrap());
                subjects.push(prepare("mongo", mongo, None).await);
            }
            _ => eprintln!("CHAT_TEST_MONGO_URL unset: measuring SQLite only"),
        }
        subjects
    })
}

fn stores(c: &mut Criterion) {
    let runtime = Runtime::new().unwrap();
    let subjects = subjects(&runtime);
    let mut appends = c.benchmark_group("append");
    for subject in &subjects {
        appends.throughput(Throughput::Elements(1));
        appends.bench_function(BenchmarkId::new("one_at_a_time", subject.name), |b| {
            b.to_async(&runtime).iter(|| async {
                subject
                    .store
                    .append(message(subject.room, subject.sender))
                    .await
                    .unwrap()
            });
        });
        appends.throughput(Throughput::Elements(IN_FLIGHT as u64));
        appends.bench_function(BenchmarkId::new("64_in_flight", subject.name), |b| {
            b.to_async(&runtime).iter_custom(|iterations| async move {
                let started = Instant::now();
                for _ in 0..iterations {
                    let tasks: Vec<_> = (0..IN_FLIGHT)
                        .map(|_| {
                            let store = subject.store.clone();
                            let new = message(subject.room, subject.sender);
                            tokio::spawn(async move { store.append(new).await.unwrap() })
                        })
                        .collect();
                    for task in tasks {
                        task.await.unwrap();
                    }
                }
                started.elapsed()
            });
        });
    }
    appends.finish();
    let mut pages = c.benchmark_group("history_page_50");
    pages.throughput(Throughput::Elements(1));
    for subject in &subjects {
        pages.bench_function(subject.name, |b| {
            let mut before = HISTORY as u64;
            b.to_async(&runtime).iter(|| {
                before = if before <= 60 {
                    HISTORY as u64
                } else {
                    before - 50
                };
                let cursor = before;
                async move {
                    subject
                        .store
                        .page(subject.room, Some(cursor), 50)
                        .await
                        .unwrap()
                }
            });
        });
    }
    pages.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(4));
    targets = stores
}
criterion_main!(benches);

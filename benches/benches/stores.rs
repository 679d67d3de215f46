//! Stores compared in one run: message appends per second (one at a time; 64 in flight into
//! one room; and one append in flight in each of many direct rooms at once, 1,000 on SQLite and
//! 16 on MongoDB, each with a `client_id` like a real client's, which is what a busy server's
//! group commits carry) and
//! history-page reads per second (50 messages, newest first), on the embedded SQLite store (a
//! file in a temporary directory on disk) and, when `CHAT_TEST_MONGO_URL` is set, on MongoDB.
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
/// Direct rooms written at once in `many_rooms_keyed`, and the messages each holds beforehand;
/// fewer on MongoDB, whose test server (FerretDB v1) scans for most queries: with 32 rooms,
/// the store before batched inserts passed its 8 s operation deadline on a busy machine.
const ROOMS: usize = 1_000;
const ROOM_HISTORY: usize = 20;
const MONGO_ROOMS: usize = 16;
const MONGO_ROOM_HISTORY: usize = 2;

struct Subject {
    name: &'static str,
    store: Arc<dyn Store>,
    room: RoomId,
    sender: UserId,
    /// Direct rooms, each with the user who sends into it.
    rooms: Vec<(RoomId, UserId)>,
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

/// A message carrying a fresh `client_id`, as the web client and `chat bench` send them.
fn keyed_message(room: RoomId, sender: UserId) -> NewMessage {
    NewMessage {
        client_id: Some(MessageId::generate().to_string()),
        ..message(room, sender)
    }
}

fn bench_user(i: usize) -> NewUser {
    NewUser {
        id: UserId::generate(),
        email: format!("bench{i}-{}@example.com", UserId::generate()),
        name: format!("B{i}"),
        password_hash: "$argon2id$unused".into(),
        created_at: now(),
    }
}

/// One append into each of `rooms`, all in flight at once; waits for every acknowledgement.
async fn append_to_each(store: &Arc<dyn Store>, rooms: &[(RoomId, UserId)]) {
    let tasks: Vec<_> = rooms
        .iter()
        .map(|&(room, sender)| {
            let store = store.clone();
            tokio::spawn(async move { store.append(keyed_message(room, sender)).await.unwrap() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
}

async fn prepare(
    name: &'static str,
    store: Arc<dyn Store>,
    dir: Option<tempfile::TempDir>,
    (room_count, room_history): (usize, usize),
) -> Subject {
    let users: Vec<NewUser> = (0..2 * room_count + 2).map(bench_user).collect();
    let ids: Vec<UserId> = users.iter().map(|user| user.id).collect();
    store.create_users(users).await.unwrap();
    let (a, b) = (ids[0], ids[1]);
    let room = store.direct_room(a, b, now()).await.unwrap().id;
    for _ in 0..HISTORY {
        store.append(message(room, a)).await.unwrap();
    }
    let mut rooms = Vec::with_capacity(room_count);
    for pair in ids[2..].chunks(2) {
        let room = store.direct_room(pair[0], pair[1], now()).await.unwrap().id;
        rooms.push((room, pair[0]));
    }
    for _ in 0..room_history {
        append_to_each(&store, &rooms).await;
    }
    Subject {
        name,
        store,
        room,
        sender: a,
        rooms,
        _dir: dir,
    }
}

fn subjects(runtime: &Runtime) -> Vec<Subject> {
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Arc::new(SqliteStore::open(&dir.path().join("bench.sqlite3")).unwrap());
        let mut subjects = vec![prepare("sqlite", sqlite, Some(dir), (ROOMS, ROOM_HISTORY)).await];
        match std::env::var("CHAT_TEST_MONGO_URL") {
            Ok(url) if !url.is_empty() => {
                let database = format!("bench_{}", UserId::generate());
                let mongo = Arc::new(MongoStore::connect(&url, &database).await.unwrap());
                subjects
                    .push(prepare("mongo", mongo, None, (MONGO_ROOMS, MONGO_ROOM_HISTORY)).await);
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
        appends.throughput(Throughput::Elements(subject.rooms.len() as u64));
        let many = format!("{}_rooms_keyed", subject.rooms.len());
        appends.bench_function(BenchmarkId::new(many, subject.name), |b| {
            b.to_async(&runtime).iter_custom(|iterations| async move {
                let started = Instant::now();
                for _ in 0..iterations {
                    append_to_each(&subject.store, &subject.rooms).await;
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

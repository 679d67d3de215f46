//! Message search latency on the embedded SQLite store (FTS5): a history of
//! `CHAT_BENCH_SEARCH_MESSAGES` messages (default 100,000) in 1,000 direct rooms of 200 users,
//! texts of 8 words from a skewed 2,000-word vocabulary (the most common word is in about a
//! fifth of all messages). Searches as one user of 10 rooms, and as one of 199 rooms (all in
//! the match expression, an OR of 199 room tokens): a common word, a rare word, two words, and
//! a common word in one room.
//!
//! Run: `cargo bench -p chat-benches --bench search`.

// criterion_group! generates functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::sync::Arc;
use std::time::Duration;

use chat_core::model::{NewMessage, NewUser, now};
use chat_core::search::{SearchQuery, Terms};
use chat_core::store::Store;
use chat_core::{MessageId, RoomId, UserId};
use chat_store_sqlite::SqliteStore;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

const USERS: usize = 200;
const ROOMS: usize = 1_000;
const VOCABULARY: usize = 2_000;
const WORDS_PER_MESSAGE: usize = 8;
const IN_FLIGHT: usize = 64;
/// Put into one message in 10,000.
const RARE: &str = "zeppelin";

/// A deterministic generator, so every run searches the same history.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Word `i` of the vocabulary: three syllables, distinct for every `i`.
fn word(i: usize) -> String {
    const SYLLABLES: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "da", "fu", "go", "hi", "ju", "pe",
        "wa",
    ];
    (0..3).map(|k| SYLLABLES[(i >> (4 * k)) % 16]).collect()
}

struct History {
    store: Arc<dyn Store>,
    /// A user in 10 rooms, and those rooms.
    few: Vec<RoomId>,
    /// A user in 199 rooms.
    many: Vec<RoomId>,
    _dir: tempfile::TempDir,
}

async fn history(messages: usize) -> History {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("search.sqlite3")).unwrap());
    let users: Vec<NewUser> = (0..USERS)
        .map(|i| NewUser {
            id: UserId::generate(),
            email: format!("search{i}@example.com"),
            name: format!("U{i}"),
            password_hash: "$argon2id$unused".into(),
            created_at: now(),
        })
        .collect();
    let ids: Vec<UserId> = users.iter().map(|user| user.id).collect();
    store.create_users(users).await.unwrap();
    // User 0 talks with users 1..=10; user 1 also with 11..=199 and more; the rest pair up.
    let mut pairs: Vec<(usize, usize)> = (1..=10).map(|j| (0, j)).collect();
    pairs.extend((2..USERS).map(|j| (1, j)));
    let others = (2..USERS).flat_map(|a| (a + 1..USERS).map(move |b| (a, b)));
    pairs.extend(others.take(ROOMS - pairs.len()));
    let mut rooms = Vec::with_capacity(ROOMS);
    for &(a, b) in &pairs {
        rooms.push((
            store.direct_room(ids[a], ids[b], now()).await.unwrap().id,
            ids[a],
        ));
    }
    let many: Vec<RoomId> = rooms
        .iter()
        .zip(&pairs)
        .filter(|(_, (a, b))| *a == 1 || *b == 1)
        .map(|(room, _)| room.0)
        .collect();
    let few: Vec<RoomId> = rooms[..10].iter().map(|room| room.0).collect();
    let mut random = Lcg(7);
    let mut sent = 0;
    while sent < messages {
        let batch: Vec<_> = (0..IN_FLIGHT.min(messages - sent))
            .map(|i| {
                let (room, sender) = rooms[(random.next() * ROOMS as f64) as usize];
                let mut words: Vec<String> = (0..WORDS_PER_MESSAGE)
                    .map(|_| word((random.next().powi(3) * VOCABULARY as f64) as usize))
                    .collect();
                if (sent + i) % 10_000 == 0 {
                    words[0] = RARE.into();
                }
                let store = store.clone();
                let message = NewMessage {
                    id: MessageId::generate(),
                    room_id: room,
                    sender_id: sender,
                    sender_name: "U".into(),
                    text: words.join(" "),
                    client_id: None,
                    timestamp: now(),
                    attachments: Vec::new(),
                };
                tokio::spawn(async move { store.append(message).await.unwrap() })
            })
            .collect();
        sent += batch.len();
        for task in batch {
            task.await.unwrap();
        }
    }
    History {
        store,
        few,
        many,
        _dir: dir,
    }
}

fn search(c: &mut Criterion) {
    let messages = std::env::var("CHAT_BENCH_SEARCH_MESSAGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let runtime = Runtime::new().unwrap();
    let history = runtime.block_on(history(messages));
    let common = word(0);
    let two = format!("{} {}", word(0), word(1));
    let mut group = c.benchmark_group(format!("search_sqlite_{messages}"));
    let cases: [(&str, &str, &[RoomId]); 7] = [
        ("common_word_10_rooms", &common, &history.few),
        ("rare_word_10_rooms", RARE, &history.few),
        ("two_words_10_rooms", &two, &history.few),
        ("common_word_1_room", &common, &history.few[..1]),
        ("common_word_199_rooms", &common, &history.many),
        ("rare_word_199_rooms", RARE, &history.many),
        ("two_words_199_rooms", &two, &history.many),
    ];
    for (name, words, rooms) in cases {
        let query = SearchQuery {
            terms: Terms::parse(words).unwrap(),
            rooms: rooms.to_vec(),
            before: None,
            limit: 20,
        };
        group.bench_function(BenchmarkId::from_parameter(name), |b| {
            b.to_async(&runtime)
                .iter(|| async { history.store.search(&query).await.unwrap() });
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = search
}
criterion_main!(benches);

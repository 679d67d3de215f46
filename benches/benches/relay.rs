//! Cross-node relay through Redis, measured in one run: two engines (two "nodes") share a
//! store and a Redis; a sender on node one writes to rooms whose other member sits on node
//! two. Reports the added latency of a cross-node delivery over the sender's local echo
//! (p50/p99, paced so queues stay empty), and how many messages per second node two receives
//! when node one sends as fast as it can.
//!
//! Run: `scripts/test --with-services -- cargo bench -p chat-benches --bench relay`
//! (needs `CHAT_TEST_REDIS_URL`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_cache_redis::{RedisOptions, RedisSidecars};
use chat_core::event::ServerEvent;
use chat_core::hub::Next;
use chat_core::limits::Quota;
use chat_core::memory::MemoryStore;
use chat_core::model::User;
use chat_core::store::Store;
use chat_core::{Connection, Engine, EngineConfig, TokenKeys, UserId};
use hdrhistogram::Histogram;
use tokio::sync::mpsc;

const PACED_MESSAGES: usize = 2_000;
const PACED_RATE: u64 = 500;
const BLAST_ROOMS: usize = 50;
const BLAST_MESSAGES: usize = 20_000;

async fn node(store: Arc<dyn Store>, url: &str, prefix: &str) -> Engine {
    let quota = Quota {
        per_second: 1_000_000,
        burst: 1_000_000,
    };
    let options = RedisOptions {
        key_prefix: prefix.into(),
        quota,
        ..RedisOptions::default()
    };
    let sidecars = RedisSidecars::connect(url, options).await.expect("redis");
    let config = EngineConfig {
        quota,
        socket_queue: 65_536,
        ..EngineConfig::default()
    };
    Engine::builder(store, TokenKeys::from_secret(b"bench"))
        .bus(Arc::new(sidecars.bus))
        .presence(Arc::new(sidecars.presence))
        .rate_limiter(Arc::new(sidecars.limiter))
        .config(config)
        .build()
}

/// Receives message events and reports (seq, arrival) pairs.
fn listen(mut connection: Connection) -> mpsc::UnboundedReceiver<(u64, Instant)> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Next::Event(delivery) = connection.next().await {
            if let ServerEvent::Message(message) = delivery.event()
                && tx.send((message.seq, Instant::now())).is_err()
            {
                return;
            }
        }
    });
    rx
}

async fn pair(one: &Engine, two: &Engine, n: usize) -> Vec<(User, User, chat_core::RoomId)> {
    let rows = (0..2 * n)
        .map(|i| {
            (
                format!("u{i}-{}@relay.bench", UserId::generate()),
                format!("U{i}"),
                "$argon2id$x".to_owned(),
            )
        })
        .collect();
    let users = one.import_users(rows).await.unwrap();
    let mut pairs = Vec::new();
    for chunk in users.chunks(2) {
        let room = one
            .open_direct(chunk[0].id, chunk[1].id)
            .await
            .unwrap()
            .room
            .id;
        two.members_for(chunk[1].id, room).await.unwrap();
        pairs.push((chunk[0].clone(), chunk[1].clone(), room));
    }
    pairs
}

async fn paced(one: &Engine, two: &Engine) {
    let (ann, bob, room) = pair(one, two, 1).await.remove(0);
    let mut local = listen(one.connect(ann.clone()).await.unwrap());
    let mut remote = listen(two.connect(bob.clone()).await.unwrap());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut sent = vec![Instant::now(); PACED_MESSAGES + 1];
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / PACED_RATE));
    for slot in sent.iter_mut().skip(1) {
        ticker.tick().await;
        *slot = Instant::now();
        one.send(&ann, room, "paced", None).await.unwrap();
    }
    let mut local_us = Histogram::<u64>::new(3).unwrap();
    let mut remote_us = Histogram::<u64>::new(3).unwrap();
    let mut added_us = Histogram::<u64>::new(3).unwrap();
    let mut local_at = vec![None; PACED_MESSAGES + 1];
    for _ in 0..PACED_MESSAGES {
        let (seq, at) = local.recv().await.unwrap();
        local_at[seq as usize] = Some(at);
        local_us
            .record((at - sent[seq as usize]).as_micros() as u64)
            .unwrap();
    }
    for _ in 0..PACED_MESSAGES {
        let (seq, at) = tokio::time::timeout(Duration::from_secs(10), remote.recv())
            .await
            .expect("cross-node delivery stalled")
            .unwrap();
        remote_us
            .record((at - sent[seq as usize]).as_micros() as u64)
            .unwrap();
        let local = local_at[seq as usize].unwrap();
        added_us
            .record(at.saturating_duration_since(local).as_micros() as u64)
            .unwrap();
    }
    println!("paced: {PACED_MESSAGES} messages at {PACED_RATE}/s, latency from send() call (µs)");
    for (name, histogram) in [
        ("local echo", &local_us),
        ("cross-node", &remote_us),
        ("added by relay", &added_us),
    ] {
        println!(
            "  {name:<15} p50 {:>6}  p99 {:>6}  max {:>6}",
            histogram.value_at_quantile(0.5),
            histogram.value_at_quantile(0.99),
            histogram.max()
        );
    }
}

async fn blast(one: &Engine, two: &Engine) {
    let pairs = pair(one, two, BLAST_ROOMS).await;
    let mut receivers = Vec::new();
    for (_, bob, _) in &pairs {
        receivers.push(listen(two.connect(bob.clone()).await.unwrap()));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let per_room = BLAST_MESSAGES / BLAST_ROOMS;
    let started = Instant::now();
    let senders: Vec<_> = pairs
        .into_iter()
        .map(|(ann, _, room)| {
            let one = one.clone();
            tokio::spawn(async move {
                for _ in 0..per_room {
                    one.send(&ann, room, "blast", None).await.unwrap();
                }
            })
        })
        .collect();
    for sender in senders {
        sender.await.unwrap();
    }
    let sent_in = started.elapsed();
    let mut received = 0;
    for receiver in &mut receivers {
        for _ in 0..per_room {
            tokio::time::timeout(Duration::from_secs(30), receiver.recv())
                .await
                .expect("relay stalled")
                .unwrap();
            received += 1;
        }
    }
    let elapsed = started.elapsed();
    println!(
        "blast: {received} messages over {BLAST_ROOMS} rooms sent in {:.2} s, all relayed in {:.2} s: {:.0} msg/s node to node",
        sent_in.as_secs_f64(),
        elapsed.as_secs_f64(),
        received as f64 / elapsed.as_secs_f64()
    );
}

fn main() {
    let Ok(url) = std::env::var("CHAT_TEST_REDIS_URL") else {
        eprintln!("CHAT_TEST_REDIS_URL unset; run through scripts/test --with-services");
        return;
    };
    if std::env::args().any(|arg| arg == "--list") {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
        let prefix = format!("relaybench{}:", UserId::generate());
        let one = node(store.clone(), &url, &prefix).await;
        let two = node(store, &url, &prefix).await;
        paced(&one, &two).await;
        blast(&one, &two).await;
    });
}

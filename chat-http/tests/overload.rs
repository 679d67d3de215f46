//! Overload: with the send admission full, sends are refused at once (`overloaded` on the
//! socket, 503 with `Retry-After` over REST), and every send that was accepted is stored and
//! delivered. A limit of one send in flight over SQLite, whose writer thread makes every
//! append wait, makes the refusals happen; tasks that hog the runtime's workers make a
//! saturated CPU, and thousands of tasks spawned from outside the runtime a global queue that
//! is long (refused), slow to drain (refused), or long beside a big fanout (not refused).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chat_core::EngineConfig;
use chat_core::limits::Quota;
use chat_http::HttpConfig;
use chat_store_sqlite::SqliteStore;
use common::*;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

/// Frames one socket writes at once, in one batch.
const BURST: usize = 64;
/// Bursts tried before concluding that nothing was refused.
const ROUNDS: usize = 5;

/// The `client_id`s of the messages stored in `room`, as `user` reads its history.
async fn stored_client_ids(server: &Server, user: &TestUser, room: &str) -> BTreeSet<String> {
    server
        .history(user, room)
        .await
        .iter()
        .map(|message| message["client_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn tiny_admission() -> Server {
    let store = Arc::new(SqliteStore::open_temp().unwrap());
    let config = EngineConfig {
        max_sends_in_flight: 1,
        quota: Quota {
            per_second: 100_000,
            burst: 100_000,
        },
        ..EngineConfig::default()
    };
    start_on_with(store, config, HttpConfig::default()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_admission_refuses_socket_sends_and_keeps_every_accepted_one() {
    let server = tiny_admission().await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let mut socket = server.connect(&ann).await;
    let mut accepted = BTreeSet::new();
    let mut refused = BTreeSet::new();
    for round in 0..ROUNDS {
        let ids: Vec<String> = (0..BURST).map(|i| format!("r{round}-{i}")).collect();
        for id in &ids {
            let frame = json!({"room_id": room, "message": id, "client_id": id});
            socket
                .feed(Message::Text(frame.to_string().into()))
                .await
                .unwrap();
        }
        socket.flush().await.unwrap();
        let mut answered = 0;
        while answered < BURST {
            let event = next_message(&mut socket).await;
            let id = event["client_id"].as_str().unwrap().to_owned();
            match event["type"].as_str() {
                Some("message") => assert!(accepted.insert(id)),
                Some("error") => {
                    assert_eq!(event["code"], "overloaded", "{event}");
                    assert!(refused.insert(id));
                }
                _ => panic!("unexpected event {event}"),
            }
            answered += 1;
        }
        if !refused.is_empty() {
            break;
        }
    }
    assert!(!refused.is_empty(), "no send was refused");
    let stored = stored_client_ids(&server, &ann, &room).await;
    assert_eq!(
        stored, accepted,
        "the stored messages are exactly the accepted ones"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_admission_answers_rest_sends_with_503_and_retry_after() {
    let server = tiny_admission().await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let url = server.url(&format!("/api/messages/{room}"));
    let mut refusals = 0;
    let mut created = BTreeSet::new();
    for round in 0..ROUNDS {
        let sends = (0..BURST).map(|i| {
            let id = format!("r{round}-{i}");
            let request = server
                .http
                .post(&url)
                .header("authtoken", &ann.token)
                .json(&json!({"message": id, "client_id": id}));
            async move { (id, request.send().await.unwrap()) }
        });
        for (id, response) in futures_util::future::join_all(sends).await {
            match response.status().as_u16() {
                201 => assert!(created.insert(id)),
                503 => {
                    let retry_after = response.headers()["retry-after"].to_str().unwrap();
                    assert_eq!(retry_after, "1");
                    let (_, body) = read(response).await;
                    assert_eq!(body["code"], "overloaded");
                    refusals += 1;
                }
                status => panic!("unexpected status {status}"),
            }
        }
        if refusals > 0 {
            break;
        }
    }
    assert!(refusals > 0, "no send was refused");
    let stored = stored_client_ids(&server, &ann, &room).await;
    assert_eq!(stored, created);
}

/// A server whose only admission bounds are `bounds` (the others out of the way), with Ann,
/// Bob, their room and Ann's socket.
async fn loaded_server(bounds: EngineConfig) -> (Server, TestUser, String, Socket) {
    let store = Arc::new(SqliteStore::open_temp().unwrap());
    let config = EngineConfig {
        quota: Quota {
            per_second: 100_000,
            burst: 100_000,
        },
        ..bounds
    };
    let server = start_on_with(store, config, HttpConfig::default()).await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let socket = server.connect(&ann).await;
    (server, ann, room, socket)
}

/// Sends from Ann while `load` runs until one is refused as `overloaded`, lets `load` end,
/// then sends until one is accepted again; the stored messages must be exactly the accepted
/// ones. `what` names the load in failure messages.
async fn refused_under_load_then_accepted(
    (server, ann, room, mut socket): (Server, TestUser, String, Socket),
    load: impl Future<Output = ()>,
    what: &str,
) {
    let mut accepted = BTreeSet::new();
    let mut send = async |id: String| {
        let frame = json!({"room_id": room, "message": id, "client_id": id});
        socket
            .send(Message::Text(frame.to_string().into()))
            .await
            .unwrap();
        let event = next_message(&mut socket).await;
        assert_eq!(event["client_id"], id.as_str(), "{event}");
        match event["type"].as_str() {
            Some("message") => {
                accepted.insert(id);
                true
            }
            Some("error") => {
                assert_eq!(event["code"], "overloaded", "{event}");
                false
            }
            _ => panic!("unexpected event {event}"),
        }
    };
    let mut refused_under_load = false;
    for i in 0..200 {
        if !send(format!("loaded-{i}")).await {
            refused_under_load = true;
            break;
        }
    }
    load.await;
    assert!(refused_under_load, "no send was refused while {what}");

    let mut accepted_again = false;
    for i in 0..100 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if send(format!("after-{i}")).await {
            accepted_again = true;
            break;
        }
    }
    assert!(accepted_again, "sends stayed refused once no longer {what}");

    let stored = stored_client_ids(&server, &ann, &room).await;
    assert_eq!(
        stored, accepted,
        "the stored messages are exactly the accepted ones"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_runtime_running_late_refuses_sends_until_it_catches_up() {
    const HOG_SLICE: Duration = Duration::from_millis(40);
    const HOG_FOR: Duration = Duration::from_millis(1500);
    let server = loaded_server(EngineConfig {
        scheduling_delay_target: Duration::from_millis(10),
        ready_queue_limit: usize::MAX,
        ready_queue_wait_target: Duration::MAX,
        ..EngineConfig::default()
    })
    .await;
    let hogs: Vec<_> = (0..2)
        .map(|_| {
            tokio::spawn(async {
                let until = Instant::now() + HOG_FOR;
                while Instant::now() < until {
                    std::thread::sleep(HOG_SLICE);
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    let load = async {
        for hog in hogs {
            hog.await.unwrap();
        }
    };
    refused_under_load_then_accepted(server, load, "the runtime ran late").await;
}

/// Tasks spawned from outside the runtime, kept at about [`Flood::QUEUED`] in its global
/// queue, each busy for `work`, until stopped.
struct Flood {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(Vec<tokio::task::JoinHandle<()>>, usize)>,
}

impl Flood {
    const QUEUED: usize = 1_000;

    fn start(work: Duration) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let (stopped, runtime) = (stop.clone(), tokio::runtime::Handle::current());
        let thread = std::thread::spawn(move || {
            let (mut tasks, mut deepest) = (Vec::new(), 0);
            while !stopped.load(Ordering::Relaxed) {
                let depth = runtime.metrics().global_queue_depth();
                deepest = deepest.max(depth);
                if depth < Flood::QUEUED {
                    tasks.extend((0..100).map(|_| {
                        runtime.spawn(async move {
                            if !work.is_zero() {
                                std::thread::sleep(work);
                            }
                        })
                    }));
                } else {
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            (tasks, deepest)
        });
        Flood { stop, thread }
    }

    /// Stops spawning, waits for every task spawned, and says how deep the queue was seen.
    async fn stop(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread;
        let (tasks, deepest) = tokio::task::spawn_blocking(move || thread.join().unwrap())
            .await
            .unwrap();
        for task in tasks {
            task.await.unwrap();
        }
        deepest
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_global_queue_refuses_sends_until_it_drains() {
    let server = loaded_server(EngineConfig {
        ready_queue_limit: 50,
        ready_queue_wait_target: Duration::MAX,
        scheduling_delay_target: Duration::from_secs(60),
        ..EngineConfig::default()
    })
    .await;
    let flood = Flood::start(Duration::from_millis(1));
    let load = async {
        flood.stop().await;
    };
    refused_under_load_then_accepted(server, load, "the global queue was long").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_global_queue_refuses_sends_until_it_drains() {
    let server = loaded_server(EngineConfig {
        ready_queue_limit: usize::MAX,
        ready_queue_wait_target: Duration::from_millis(20),
        scheduling_delay_target: Duration::from_secs(60),
        ..EngineConfig::default()
    })
    .await;
    let flood = Flood::start(Duration::from_millis(1));
    let load = async {
        flood.stop().await;
    };
    refused_under_load_then_accepted(server, load, "the global queue was slow").await;
}

/// A send to a room followed by many sockets wakes them all, each with a frame to write: a
/// long global queue of such tasks drains in a few milliseconds, so it counts as a few
/// sends and refuses nothing. Here Bob follows the room on 150 sockets while tasks that do
/// nothing keep ~1,000 in the global queue: eight times the limit as a plain count of tasks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_global_queue_of_a_big_fanout_refuses_nothing() {
    const BOB_SOCKETS: usize = 150;
    const SENDS: usize = 100;
    let store = Arc::new(SqliteStore::open_temp().unwrap());
    let config = EngineConfig {
        max_sockets_per_user: BOB_SOCKETS,
        quota: Quota {
            per_second: 100_000,
            burst: 100_000,
        },
        ready_queue_limit: 128,
        ready_queue_wait_target: Duration::MAX,
        scheduling_delay_target: Duration::from_secs(60),
        ..EngineConfig::default()
    };
    let server = start_on_with(store, config, HttpConfig::default()).await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let mut bob_sockets = Vec::new();
    for _ in 0..BOB_SOCKETS {
        bob_sockets.push(server.connect(&bob).await);
    }
    let mut socket = server.connect(&ann).await;
    let mut send = async |id: String| {
        let frame = json!({"room_id": room, "message": id, "client_id": id});
        socket
            .send(Message::Text(frame.to_string().into()))
            .await
            .unwrap();
        let event = next_message(&mut socket).await;
        assert_eq!(event["type"], "message", "{id} was not carried: {event}");
        id
    };
    let mut accepted = BTreeSet::new();
    for i in 0..10 {
        accepted.insert(send(format!("before-{i}")).await);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;

    let flood = Flood::start(Duration::ZERO);
    for i in 0..SENDS {
        accepted.insert(send(format!("busy-{i}")).await);
    }
    let deepest = flood.stop().await;
    assert!(
        deepest > 128,
        "the global queue stayed short ({deepest} tasks): nothing was tested"
    );
    assert_eq!(stored_client_ids(&server, &ann, &room).await, accepted);
    drop(bob_sockets);
}

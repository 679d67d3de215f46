//! Two `chat serve` nodes sharing one MongoDB (FerretDB) and one Redis behave as one service:
//! real-time chat across nodes, shared presence, a node dying, and Redis restarting.

use std::time::{Duration, Instant};

use chat_testkit::*;
use serde_json::json;

/// The `chat` binary cargo built for these tests.
const CHAT: &str = env!("CARGO_BIN_EXE_chat");

fn shared_flags(mongo: &str, redis: &str) -> Vec<String> {
    vec![
        "--mongo-url".into(),
        mongo_url_with_db(mongo, &unique_name("chat_nodes")),
        "--redis-url".into(),
        redis.into(),
        "--redis-prefix".into(),
        format!("{}:", unique_name("t")),
        "--presence-ttl-seconds".into(),
        "3".into(),
        "--rate-burst".into(),
        "1000".into(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_on_two_nodes_chat_see_presence_and_a_dead_node_goes_offline() {
    let (Some(mongo), Some(redis)) = (mongo_url(), redis_url()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let flags = shared_flags(&mongo, &redis);
    let one = Node::start(CHAT, &dir.path().join("one"), &flags).await;
    let mut two = Node::start(CHAT, &dir.path().join("two"), &flags).await;
    let ann = one.register("Ann").await;
    let bob = two.register("Bob").await;
    let room = one.room(&ann, &bob).await;

    let mut ann_socket = one.connect(&ann).await;
    let mut bob_socket = two.connect(&bob).await;
    let online = next_of(&mut ann_socket, "presence", Duration::from_secs(10))
        .await
        .expect("presence");
    assert_eq!(
        (online["user_id"].as_str(), online["online"].as_bool()),
        (Some(bob.id.as_str()), Some(true))
    );
    let (_, users) = one.get("/api/all-users", Some(&ann.token)).await;
    assert_eq!(
        users[0]["online"], true,
        "node one sees bob (on node two) online"
    );

    let mut bob_phone = two.connect(&bob).await;
    for i in 1..=20u64 {
        let (from, to) = if i % 2 == 1 {
            (&mut ann_socket, &mut bob_socket)
        } else {
            (&mut bob_socket, &mut ann_socket)
        };
        send_frame(
            from,
            json!({"room_id": room, "message": format!("m{i}"), "client_id": format!("c{i}")}),
        )
        .await;
        let got = next_of(to, "message", Duration::from_secs(10))
            .await
            .expect("cross-node delivery");
        assert_eq!(got["seq"].as_u64(), Some(i));
        let echo = next_of(from, "message", Duration::from_secs(10))
            .await
            .expect("echo");
        assert_eq!(echo["seq"].as_u64(), Some(i));
    }
    let phone_seqs: Vec<u64> = {
        let mut seqs = Vec::new();
        while let Some(event) = next_of(&mut bob_phone, "message", Duration::from_secs(2)).await {
            seqs.push(event["seq"].as_u64().unwrap());
        }
        seqs
    };
    assert_eq!(
        phone_seqs,
        (1..=20).collect::<Vec<u64>>(),
        "a second device gets everything once, in order"
    );

    drop(bob_phone);
    assert!(
        next_of(&mut ann_socket, "presence", Duration::from_secs(1))
            .await
            .is_none(),
        "closing one of two devices keeps bob online"
    );

    two.kill();
    let started = Instant::now();
    let offline = next_of(&mut ann_socket, "presence", Duration::from_secs(30))
        .await
        .expect("bob went offline after his node died");
    assert_eq!(
        (offline["user_id"].as_str(), offline["online"].as_bool()),
        (Some(bob.id.as_str()), Some(false))
    );
    eprintln!(
        "dead node's user reported offline after {:?}",
        started.elapsed()
    );
    let (_, users) = one.get("/api/all-users", Some(&ann.token)).await;
    assert_eq!(users[0]["online"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_under_traffic_loses_nothing_and_relay_comes_back() {
    let Some(mongo) = mongo_url() else { return };
    let Some(mut redis) = Service::redis() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let flags = shared_flags(&mongo, &redis.url());
    let one = Node::start(CHAT, &dir.path().join("one"), &flags).await;
    let two = Node::start(CHAT, &dir.path().join("two"), &flags).await;
    let ann = one.register("Ann").await;
    let bob = two.register("Bob").await;
    let room = one.room(&ann, &bob).await;
    let mut ann_socket = one.connect(&ann).await;
    let mut bob_socket = two.connect(&bob).await;

    let mut acknowledged = Vec::new();
    let total = 60u64;
    for i in 1..=total {
        if i == 15 {
            redis.kill();
        }
        if i == 35 {
            redis.restart();
        }
        send_frame(
            &mut ann_socket,
            json!({"room_id": room, "message": format!("m{i}"), "client_id": format!("c{i}")}),
        )
        .await;
        let echo = next_of(&mut ann_socket, "message", Duration::from_secs(10))
            .await
            .expect("local delivery and acknowledgement go on without Redis");
        acknowledged.push(echo["seq"].as_u64().unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(acknowledged, (1..=total).collect::<Vec<u64>>());

    let mut received = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while received.len() < total as usize && Instant::now() < deadline {
        if let Some(event) = next_of(&mut bob_socket, "message", Duration::from_secs(2)).await {
            received.push(event["seq"].as_u64().unwrap());
        }
    }
    assert_eq!(
        received,
        (1..=total).collect::<Vec<u64>>(),
        "bob got every message once, in order"
    );

    send_frame(
        &mut bob_socket,
        json!({"room_id": room, "message": "back", "client_id": "back"}),
    )
    .await;
    let back = next_of(&mut ann_socket, "message", Duration::from_secs(10))
        .await
        .expect("relay is back");
    assert_eq!(back["seq"].as_u64(), Some(total + 1));
    let history = two.history(&bob, &room).await;
    assert_eq!(history.len() as u64, total + 1);
}

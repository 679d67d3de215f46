//! The server on the MongoDB store (FerretDB in tests): the API end to end, two server
//! processes over one database, and a database outage.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_testkit::*;
use serde_json::json;

/// The `chat` binary cargo built for these tests.
const CHAT: &str = env!("CARGO_BIN_EXE_chat");

fn mongo_flags(base: &str) -> Vec<String> {
    let database = unique_name("chat_e2e");
    vec![
        "--mongo-url".into(),
        mongo_url_with_db(base, &database),
        "--rate-burst".into(),
        "1000".into(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_works_end_to_end_on_mongo() {
    let Some(base) = mongo_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(CHAT, dir.path(), &mongo_flags(&base)).await;
    let (ann, bob, eve) = (
        node.register("Ann").await,
        node.register("Bob").await,
        node.register("Eve").await,
    );
    let (status, _) = node
        .post(
            "/api/register",
            None,
            json!({"email": format!("{}", "x@y.z"), "password": "password123", "name": "X"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = node
        .post(
            "/api/register",
            None,
            json!({"email": "X@Y.Z", "password": "password123", "name": "X"}),
        )
        .await;
    assert_eq!(status, 409, "emails are unique case-insensitively");
    let (status, users) = node
        .get(
            "/api/all-users?q=%7B%22%24gt%22%3A%22%22%7D",
            Some(&ann.token),
        )
        .await;
    assert_eq!(
        (status, users.as_array().map(Vec::len)),
        (200, Some(0)),
        "operators are text"
    );

    let room = node.room(&ann, &bob).await;
    assert_eq!(node.room(&bob, &ann).await, room);
    let mut ann_socket = node.connect(&ann).await;
    let mut bob_socket = node.connect(&bob).await;
    let mut eve_socket = node.connect(&eve).await;
    send_frame(
        &mut ann_socket,
        json!({"room_id": room, "message": "hi Bob", "client_id": "k1"}),
    )
    .await;
    let echo = next_of(&mut ann_socket, "message", Duration::from_secs(5))
        .await
        .unwrap();
    let received = next_of(&mut bob_socket, "message", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(echo["_id"], received["_id"]);
    assert_eq!(
        (received["seq"].as_u64(), received["client_id"].as_str()),
        (Some(1), Some("k1"))
    );
    assert!(
        next_of(&mut eve_socket, "message", Duration::from_millis(300))
            .await
            .is_none()
    );

    send_frame(
        &mut ann_socket,
        json!({"room_id": room, "message": "hi Bob", "client_id": "k1"}),
    )
    .await;
    let again = next_of(&mut ann_socket, "message", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(again["_id"], echo["_id"], "idempotent resend");
    send_frame(&mut eve_socket, json!({"room_id": room, "message": "x"})).await;
    let error = next_of(&mut eve_socket, "error", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(error["code"], "forbidden");
    let (status, _) = node
        .get(&format!("/api/messages/{room}"), Some(&eve.token))
        .await;
    assert_eq!(status, 403);

    for i in 2..=130 {
        let (status, _) = node
            .post(
                &format!("/api/messages/{room}"),
                Some(&bob.token),
                json!({"message": format!("m{i}")}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let seqs: Vec<u64> = node
        .history(&ann, &room)
        .await
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=130).collect::<Vec<u64>>());
    let (_, rooms) = node.get("/api/chats", Some(&ann.token)).await;
    assert_eq!(rooms[0]["last_message"]["message"], "m130");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_agree_on_rooms_and_seq() {
    let Some(base) = mongo_url() else { return };
    let dir = tempfile::tempdir().unwrap();
    let flags = mongo_flags(&base);
    let one = Arc::new(Node::start(CHAT, &dir.path().join("one"), &flags).await);
    let two = Arc::new(Node::start(CHAT, &dir.path().join("two"), &flags).await);
    let ann = one.register("Ann").await;
    let bob = two.register("Bob").await;

    let opens: Vec<_> = (0..6)
        .map(|i| {
            let (node, from, to) = if i % 2 == 0 {
                (one.clone(), ann.clone(), bob.clone())
            } else {
                (two.clone(), bob.clone(), ann.clone())
            };
            tokio::spawn(async move { node.room(&from, &to).await })
        })
        .collect();
    let mut rooms = HashSet::new();
    for open in opens {
        rooms.insert(open.await.unwrap());
    }
    assert_eq!(
        rooms.len(),
        1,
        "concurrent create-room on two servers made {rooms:?}"
    );
    let room = rooms.into_iter().next().unwrap();

    let sends: Vec<_> = (0..60)
        .map(|i| {
            let (node, user) = if i % 2 == 0 {
                (one.clone(), ann.clone())
            } else {
                (two.clone(), bob.clone())
            };
            let room = room.clone();
            tokio::spawn(async move {
                let (status, body) = node
                    .post(
                        &format!("/api/messages/{room}"),
                        Some(&user.token),
                        json!({"message": format!("m{i}")}),
                    )
                    .await;
                assert_eq!(status, 201, "{body}");
                body["seq"].as_u64().unwrap()
            })
        })
        .collect();
    let mut acknowledged = Vec::new();
    for send in sends {
        acknowledged.push(send.await.unwrap());
    }
    acknowledged.sort();
    assert_eq!(acknowledged, (1..=60).collect::<Vec<u64>>());
    for node in [&one, &two] {
        let seqs: Vec<u64> = node
            .history(&ann, &room)
            .await
            .iter()
            .map(|m| m["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, (1..=60).collect::<Vec<u64>>());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_fails_sends_clearly_loses_nothing_and_heals() {
    let Some(mut database) = Service::ferretdb() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let url = mongo_url_with_db(&database.url(), "outage");
    let node = Node::start(
        CHAT,
        &dir.path().join("node"),
        &[
            "--mongo-url".into(),
            url,
            "--rate-burst".into(),
            "1000".into(),
        ],
    )
    .await;
    let (ann, bob) = (node.register("Ann").await, node.register("Bob").await);
    let room = node.room(&ann, &bob).await;
    let mut socket = node.connect(&ann).await;
    let mut acknowledged = Vec::new();
    for i in 0..20 {
        send_frame(
            &mut socket,
            json!({"room_id": room, "message": format!("before{i}"), "client_id": format!("b{i}")}),
        )
        .await;
        let echo = next_of(&mut socket, "message", Duration::from_secs(10))
            .await
            .unwrap();
        acknowledged.push(echo["message"].as_str().unwrap().to_owned());
    }

    database.kill();
    let started = Instant::now();
    let (status, error) = node
        .post(
            &format!("/api/messages/{room}"),
            Some(&ann.token),
            json!({"message": "during"}),
        )
        .await;
    assert_eq!(status, 503, "{error}");
    assert_eq!(error["code"], "unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    send_frame(
        &mut socket,
        json!({"room_id": room, "message": "during ws", "client_id": "d1"}),
    )
    .await;
    let error = next_of(&mut socket, "error", Duration::from_secs(20))
        .await
        .expect("an error event");
    assert_eq!(
        (error["code"].as_str(), error["client_id"].as_str()),
        (Some("unavailable"), Some("d1"))
    );
    let (status, ready) = node.get("/readyz", None).await;
    assert_eq!(status, 503, "{ready}");

    database.restart();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = node
            .post(
                &format!("/api/messages/{room}"),
                Some(&ann.token),
                json!({"message": "after", "client_id": "a1"}),
            )
            .await;
        if status == 201 {
            acknowledged.push(body["message"].as_str().unwrap().to_owned());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server never recovered: {status} {body}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let history: Vec<String> = node
        .history(&bob, &room)
        .await
        .iter()
        .map(|m| m["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(history, acknowledged);
}

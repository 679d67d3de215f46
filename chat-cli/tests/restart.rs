//! Durability of the embedded store: a server killed with SIGKILL and started again still has
//! every acknowledged message, in the same order, and keeps counting `seq` from there.

use std::time::Duration;

use chat_testkit::*;
use serde_json::json;

/// The `chat` binary cargo built for these tests.
const CHAT: &str = env!("CARGO_BIN_EXE_chat");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_messages_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(CHAT, dir.path(), &["--rate-burst".into(), "1000".into()]).await;
    let (ann, bob) = (node.register("Ann").await, node.register("Bob").await);
    let room = node.room(&ann, &bob).await;
    let mut socket = node.connect(&ann).await;
    let mut acknowledged = Vec::new();
    for i in 0..200 {
        send_frame(
            &mut socket,
            json!({"room_id": room, "message": format!("m{i}"), "client_id": format!("c{i}")}),
        )
        .await;
    }
    while acknowledged.len() < 200 {
        let echo = next_of(&mut socket, "message", Duration::from_secs(10))
            .await
            .expect("echo");
        acknowledged.push((
            echo["seq"].as_u64().unwrap(),
            echo["message"].as_str().unwrap().to_owned(),
        ));
    }
    node.restart().await;

    let history = node.history(&bob, &room).await;
    let stored: Vec<(u64, String)> = history
        .iter()
        .map(|m| {
            (
                m["seq"].as_u64().unwrap(),
                m["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(stored, acknowledged);
    assert_eq!(
        stored.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        (1..=200).collect::<Vec<_>>()
    );

    let (status, again) = node
        .post(
            &format!("/api/messages/{room}"),
            Some(&ann.token),
            json!({"message": "m0", "client_id": "c0"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        again["seq"], 1,
        "a resend after restart is still idempotent"
    );
    let (_, next) = node
        .post(
            &format!("/api/messages/{room}"),
            Some(&bob.token),
            json!({"message": "after"}),
        )
        .await;
    assert_eq!(next["seq"], 201);
    let (status, _) = node.get("/api/me", Some(&ann.token)).await;
    assert_eq!(
        status, 200,
        "the generated secret was kept, so old tokens still work"
    );
}

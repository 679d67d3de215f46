//! Durability of group rooms in the embedded store: a server killed with SIGKILL and started
//! again still has each group's name, members, roles and whole timeline (messages and
//! membership entries), and goes on counting its `seq` from there.

use std::time::Duration;

use chat_testkit::*;
use serde_json::{Value, json};

/// The `chat` binary cargo built for these tests.
const CHAT: &str = env!("CARGO_BIN_EXE_chat");

/// What must survive: the room as `GET /api/rooms/{id}` shows it and every timeline entry.
async fn snapshot(node: &Node, user: &TestUser, id: &str) -> (Value, Vec<Value>) {
    let (status, room) = node
        .get(&format!("/api/rooms/{id}"), Some(&user.token))
        .await;
    assert_eq!(status, 200, "{room}");
    (room, node.history(user, id).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_survives_kill_9_with_members_roles_name_and_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Node::start(CHAT, dir.path(), &["--rate-burst".into(), "1000".into()]).await;
    let [ann, bob, cat, dan] = [
        node.register("Ann").await,
        node.register("Bob").await,
        node.register("Cat").await,
        node.register("Dan").await,
    ];
    let room = node.group(&ann, "Team", &[&bob, &cat]).await;
    let id = room["_id"].as_str().unwrap().to_owned();
    let members = format!("/api/rooms/{id}/members");
    let (status, body) = node
        .post(&members, Some(&ann.token), json!({"user_ids": [dan.id]}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = node
        .put(
            &format!("{members}/{}/role", bob.id),
            &ann,
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = node
        .patch(&format!("/api/rooms/{id}"), &bob, json!({"name": "Crew"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = node.delete(&format!("{members}/{}", cat.id), &bob).await;
    assert_eq!(status, 204, "{body}");

    let mut socket = node.connect_v2(&dan).await;
    for i in 0..50 {
        send_frame(
            &mut socket,
            json!({"room_id": id, "message": format!("m{i}"), "client_id": format!("c{i}")}),
        )
        .await;
    }
    let mut acknowledged = 0;
    while acknowledged < 50 {
        let echo = next_of(&mut socket, "message", Duration::from_secs(10))
            .await
            .expect("echo");
        assert_eq!(echo["chat_id"], id.as_str());
        acknowledged += 1;
    }
    let before = snapshot(&node, &ann, &id).await;
    assert_eq!(before.0["name"], "Crew");
    assert_eq!(before.0["member_count"], 3, "{}", before.0);
    assert_eq!(
        before.1.len(),
        5 + 50,
        "created, added, role, renamed, removed"
    );

    node.restart().await;

    let after = snapshot(&node, &ann, &id).await;
    assert_eq!(after, before, "name, members, roles and timeline as before");
    let roles: Vec<(&str, &str)> = after.0["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["user_id"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    for (user, role) in [(&ann, "owner"), (&bob, "admin"), (&dan, "member")] {
        assert!(roles.contains(&(user.id.as_str(), role)), "{roles:?}");
    }
    let (status, _) = node
        .get(&format!("/api/messages/{id}"), Some(&cat.token))
        .await;
    assert_eq!(status, 403, "the removal survived too");

    let (status, next) = node
        .post(
            &format!("/api/messages/{id}"),
            Some(&dan.token),
            json!({"message": "after"}),
        )
        .await;
    assert_eq!(status, 201, "{next}");
    assert_eq!(next["seq"], before.1.len() as u64 + 1);
    let (status, again) = node
        .post(
            &format!("/api/messages/{id}"),
            Some(&dan.token),
            json!({"message": "m0", "client_id": "c0"}),
        )
        .await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(
        again["seq"], before.1[5]["seq"],
        "a resend after restart is still idempotent"
    );
}

//! Rooms, membership and history over REST.

mod common;

use std::collections::HashSet;

use common::*;
use serde_json::json;

#[tokio::test]
async fn a_direct_room_is_created_once_and_listed_for_both() {
    let server = start().await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let first = server.room(&ann, &bob).await;
    let (status, again) = server
        .post(
            "/api/chats/create-room",
            Some(&bob.token),
            json!({"to_user_id": ann.id, "receiver_name": "Ann"}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(again["_id"], first.as_str());
    assert_eq!(again["receiver_id"], ann.id.as_str());
    assert_eq!(again["receiver_name"], "Ann");
    let (_, rooms) = server.get("/api/chats", Some(&ann.token)).await;
    assert_eq!(rooms.as_array().unwrap().len(), 1);
    let room = &rooms[0];
    assert_eq!(room["receiver_name"], "Bob");
    assert_eq!(room["participants"].as_array().unwrap().len(), 2);
    assert_eq!(room["participant_names"].as_array().unwrap().len(), 2);
    assert!(room["last_message"].is_null());
}

#[tokio::test]
async fn concurrent_create_room_yields_one_room() {
    let server = std::sync::Arc::new(start().await);
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let server = server.clone();
            let (from, to) = if i % 2 == 0 {
                (ann.clone(), bob.clone())
            } else {
                (bob.clone(), ann.clone())
            };
            tokio::spawn(async move { server.room(&from, &to).await })
        })
        .collect();
    let mut ids = HashSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap());
    }
    assert_eq!(ids.len(), 1);
}

#[tokio::test]
async fn create_room_errors() {
    let server = start().await;
    let ann = server.register("Ann").await;
    let cases = [
        (json!({"to_user_id": ann.id}), 422),
        (json!({"to_user_id": rand_tag()}), 404),
        (json!({"to_user_id": "not-an-id"}), 404),
        (json!({"to_user_id": 42}), 422),
    ];
    for (body, expected) in cases {
        let (status, error) = server
            .post("/api/chats", Some(&ann.token), body.clone())
            .await;
        assert_eq!(status, expected, "{body} -> {error}");
        assert!(error["detail"].is_string());
    }
    let (status, _) = server
        .post("/api/chats", None, json!({"to_user_id": ann.id}))
        .await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn only_members_read_and_write_a_room() {
    let server = start().await;
    let (ann, bob, eve) = (
        server.register("Ann").await,
        server.register("Bob").await,
        server.register("Eve").await,
    );
    let room = server.room(&ann, &bob).await;
    let path = format!("/api/messages/{room}");
    let (status, sent) = server
        .post(
            &path,
            Some(&ann.token),
            json!({"message": "secret", "client_id": "c1"}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["sender_id"], ann.id.as_str());
    assert_eq!(sent["seq"], 1);
    let (status, error) = server.get(&path, Some(&eve.token)).await;
    assert_eq!((status, error["code"].as_str()), (403, Some("forbidden")));
    let (status, _) = server
        .post(&path, Some(&eve.token), json!({"message": "intrusion"}))
        .await;
    assert_eq!(status, 403);
    let (_, history) = server.get(&path, Some(&bob.token)).await;
    assert_eq!(history.as_array().unwrap().len(), 1);
    assert_eq!(history[0]["message"], "secret");
    for unknown in [
        format!("/api/messages/{}", rand_tag()),
        "/api/messages/nope".into(),
    ] {
        let (status, _) = server.get(&unknown, Some(&ann.token)).await;
        assert_eq!(status, 404, "{unknown}");
        let (status, _) = server
            .post(&unknown, Some(&ann.token), json!({"message": "x"}))
            .await;
        assert_eq!(status, 404, "{unknown}");
    }
}

#[tokio::test]
async fn rest_send_validates_and_is_idempotent() {
    let server = start().await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let path = format!("/api/messages/{}", server.room(&ann, &bob).await);
    for body in [
        json!({"message": "   "}),
        json!({"message": "x".repeat(16 * 1024 + 1)}),
        json!({"message": 7}),
        json!({"message": "ok", "client_id": ""}),
    ] {
        let (status, _) = server.post(&path, Some(&ann.token), body.clone()).await;
        assert_eq!(status, 422, "{body}");
    }
    let (_, first) = server
        .post(
            &path,
            Some(&ann.token),
            json!({"message": "once", "client_id": "k"}),
        )
        .await;
    let (status, again) = server
        .post(
            &path,
            Some(&ann.token),
            json!({"message": "once", "client_id": "k"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(again["_id"], first["_id"]);
    let (_, history) = server.get(&path, Some(&ann.token)).await;
    assert_eq!(history.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn history_pages_walk_everything_without_gaps_or_repeats() {
    let server = start().await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let path = format!("/api/messages/{}", server.room(&ann, &bob).await);
    for i in 1..=57 {
        let sender = if i % 3 == 0 { &bob } else { &ann };
        let (status, _) = server
            .post(
                &path,
                Some(&sender.token),
                json!({"message": format!("m{i}")}),
            )
            .await;
        assert_eq!(status, 201);
    }
    let (_, default_page) = server.get(&path, Some(&ann.token)).await;
    assert_eq!(default_page.as_array().unwrap().len(), 50);
    assert_eq!(default_page[0]["seq"], 57);
    let (_, capped) = server
        .get(&format!("{path}?limit=1000"), Some(&ann.token))
        .await;
    assert_eq!(capped.as_array().unwrap().len(), 57);
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            None => format!("{path}?limit=10"),
            Some(before) => format!("{path}?limit=10&before={before}"),
        };
        let (status, page) = server.get(&url, Some(&bob.token)).await;
        assert_eq!(status, 200);
        let page = page.as_array().unwrap().clone();
        if page.is_empty() {
            break;
        }
        cursor = page.last().map(|m| m["_id"].as_str().unwrap().to_owned());
        seen.extend(page.iter().map(|m| m["seq"].as_u64().unwrap()));
    }
    assert_eq!(seen, (1..=57).rev().collect::<Vec<u64>>());
    let (status, _) = server
        .get(&format!("{path}?before=garbage"), Some(&ann.token))
        .await;
    assert_eq!(status, 422);
    let (_, rooms) = server.get("/api/chats", Some(&bob.token)).await;
    assert_eq!(rooms[0]["last_message"]["message"], "m57");
}

#[tokio::test]
async fn rooms_are_ordered_by_recent_activity() {
    let server = start().await;
    let (me, x, y) = (
        server.register("Me").await,
        server.register("X").await,
        server.register("Y").await,
    );
    // Activity is kept to the millisecond; a pause keeps two steps from tying.
    let pause = || tokio::time::sleep(std::time::Duration::from_millis(5));
    let with_x = server.room(&me, &x).await;
    pause().await;
    let with_y = server.room(&me, &y).await;
    let (_, rooms) = server.get("/api/chats", Some(&me.token)).await;
    assert_eq!(rooms[0]["_id"], with_y.as_str());
    pause().await;
    server
        .post(
            &format!("/api/messages/{with_x}"),
            Some(&x.token),
            json!({"message": "hi"}),
        )
        .await;
    let (_, rooms) = server.get("/api/chats", Some(&me.token)).await;
    assert_eq!(rooms[0]["_id"], with_x.as_str());
    assert_eq!(rooms[1]["_id"], with_y.as_str());
}

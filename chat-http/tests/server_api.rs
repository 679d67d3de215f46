//! The operators' server API over real HTTP and WebSockets: the key, idempotent sends that
//! members see live in seq order, groups, members and host-owned users; and a host hook's
//! rejection reaching REST and socket clients with its own code.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chat_core::EngineConfig;
use chat_core::hooks::{Hooks, OutgoingMessage, Verdict};
use chat_core::memory::MemoryStore;
use chat_core::{Engine, TokenKeys};
use chat_http::HttpConfig;
use chat_http::routes::server_api::ServerApiKey;
use common::*;
use serde_json::{Value, json};

const KEY: &str = "operator-key-1";

fn keyed() -> HttpConfig {
    HttpConfig {
        server_api_key: ServerApiKey::new(KEY),
        ..HttpConfig::default()
    }
}

/// POSTs `body` to a server API `path` with `header: value` (none when `None`).
async fn call(
    server: &Server,
    path: &str,
    auth: Option<(&str, &str)>,
    body: Value,
) -> (u16, Value) {
    let mut request = server.http.post(server.url(path)).json(&body);
    if let Some((name, value)) = auth {
        request = request.header(name, value);
    }
    read(request.send().await.unwrap()).await
}

fn bearer() -> Option<(&'static str, String)> {
    Some(("authorization", format!("Bearer {KEY}")))
}

#[tokio::test]
async fn without_a_configured_key_the_api_is_not_served() {
    let server = start().await;
    let body = json!({"room_id": "65f0a1b2c3d4e5f6012345aa", "text": "hi"});
    let (status, error) = call(
        &server,
        "/api/server/messages",
        Some(("x-api-key", KEY)),
        body,
    )
    .await;
    assert_eq!((status, error["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn a_missing_or_wrong_key_is_refused() {
    let server = start_with(EngineConfig::default(), keyed()).await;
    let body = json!({"room_id": "65f0a1b2c3d4e5f6012345aa", "text": "hi"});
    for auth in [
        None,
        Some(("authorization", "Bearer operator-key-2")),
        Some(("x-api-key", "operator-key")),
        Some(("authorization", KEY)),
    ] {
        let (status, error) = call(&server, "/api/server/messages", auth, body.clone()).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (401, Some("unauthenticated")),
            "{auth:?}"
        );
    }
    let (status, _) = call(
        &server,
        "/api/server/messages",
        Some(("x-api-key", KEY)),
        body,
    )
    .await;
    assert_eq!(
        status, 404,
        "the right key gets through to the (unknown) room"
    );
}

#[tokio::test]
async fn server_sends_are_idempotent_and_members_see_them_live_in_seq_order() {
    let server = start_with(EngineConfig::default(), keyed()).await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let mut bobs = server.connect(&bob).await;
    let (status, said) = server
        .post(
            &format!("/api/messages/{room}"),
            Some(&ann.token),
            json!({"message": "hi"}),
        )
        .await;
    assert_eq!(status, 201, "{said}");
    let send = json!({"room_id": room, "text": "maintenance at noon", "client_id": "notice-1"});
    let (name, value) = bearer().unwrap();
    let (status, first) = call(
        &server,
        "/api/server/messages",
        Some((name, &value)),
        send.clone(),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let (status, again) = call(
        &server,
        "/api/server/messages",
        Some(("x-api-key", KEY)),
        send,
    )
    .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["_id"], first["_id"]);
    assert_eq!(first["sender_name"], "System");
    assert_eq!(first["seq"], said["seq"].as_u64().unwrap() + 1);
    assert_eq!(next_message(&mut bobs).await["_id"], said["_id"]);
    let live = next_message(&mut bobs).await;
    assert_eq!((&live["_id"], &live["seq"]), (&first["_id"], &first["seq"]));
    assert_silent(&mut bobs, Duration::from_millis(300)).await;
    assert_eq!(server.history(&bob, &room).await.len(), 2);
}

#[tokio::test]
async fn groups_members_and_bots_are_managed_with_the_key() {
    let server = start_with(EngineConfig::default(), keyed()).await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let key = Some(("x-api-key", KEY));
    let (status, bot) = call(
        &server,
        "/api/server/users",
        key,
        json!({"external_id": "helper", "name": "Helper"}),
    )
    .await;
    assert_eq!(status, 200, "{bot}");
    let (_, same) = call(
        &server,
        "/api/server/users",
        key,
        json!({"external_id": "helper", "name": "Helper 2"}),
    )
    .await;
    assert_eq!(
        (&same["_id"], same["name"].as_str()),
        (&bot["_id"], Some("Helper 2"))
    );
    let (status, created) = call(
        &server,
        "/api/server/rooms",
        key,
        json!({"name": "Announcements", "owner_id": bot["_id"], "member_ids": [ann.id]}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let room = created["room_id"].as_str().unwrap().to_owned();
    let mut anns = server.connect(&ann).await;
    let (status, added) = call(
        &server,
        &format!("/api/server/rooms/{room}/members"),
        key,
        json!({"user_ids": [bob.id]}),
    )
    .await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["entries"][0]["event"]["kind"], "added");
    let mut bobs = server.connect(&bob).await;
    let send =
        json!({"room_id": room, "sender_id": bot["_id"], "text": "welcome", "client_id": "w"});
    let (status, welcome) = call(&server, "/api/server/messages", key, send).await;
    assert_eq!(status, 200, "{welcome}");
    for socket in [&mut anns, &mut bobs] {
        let seen = next_of(socket, "message", Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(seen["_id"], welcome["_id"]);
    }
}

/// Refuses texts with "spam" in them.
struct NoSpam;

#[async_trait::async_trait]
impl Hooks for NoSpam {
    async fn on_send(&self, _engine: &Engine, message: &OutgoingMessage<'_>) -> Verdict {
        if message.text.contains("spam") {
            return Verdict::reject("spam", "no spam here");
        }
        Verdict::Accept
    }
}

#[tokio::test]
async fn a_hooks_rejection_reaches_rest_and_socket_clients_with_its_code() {
    let engine = Engine::builder(
        Arc::new(MemoryStore::new()),
        TokenKeys::from_secret(b"test"),
    )
    .hooks(Arc::new(NoSpam))
    .build();
    let server = serve_engine(engine, HttpConfig::default()).await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let (status, error) = server
        .post(
            &format!("/api/messages/{room}"),
            Some(&ann.token),
            json!({"message": "spam!"}),
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(error, json!({"code": "spam", "detail": "no spam here"}));
    let mut anns = server.connect(&ann).await;
    send_frame(
        &mut anns,
        json!({"room_id": room, "message": "more spam", "client_id": "s1"}),
    )
    .await;
    let refused = next_of(&mut anns, "error", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        (refused["code"].as_str(), refused["client_id"].as_str()),
        (Some("spam"), Some("s1"))
    );
    assert!(server.history(&ann, &room).await.is_empty());
}

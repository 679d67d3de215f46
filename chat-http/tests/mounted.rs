//! The edge nested under a prefix in another axum app, served by axum's own server: our
//! accounts and tokens work under `/chat`, JSON errors too, and parts can be left out.

use std::sync::Arc;

use chat_core::memory::MemoryStore;
use chat_core::{Engine, TokenKeys};
use chat_http::ChatRouter;
use chat_testkit::{Client, next_of, read, send_frame};
use serde_json::json;

/// `app` served on 127.0.0.1:0; the client of its address.
async fn serve(app: axum::Router) -> Client {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = Client::new(listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    client
}

fn engine() -> Engine {
    Engine::builder(
        Arc::new(MemoryStore::new()),
        TokenKeys::from_secret(b"test"),
    )
    .build()
}

#[tokio::test]
async fn our_accounts_and_sockets_work_under_a_prefix() {
    let chat = ChatRouter::new(engine()).build();
    let host = serve(axum::Router::new().nest("/chat", chat)).await;
    let registered = host
        .http
        .post(host.url("/chat/api/register"))
        .json(&json!({"email": "ann@example.com", "password": "password1", "name": "Ann"}))
        .send()
        .await
        .unwrap();
    let cookie = registered.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("Path=/;") || cookie.ends_with("Path=/"),
        "{cookie}"
    );
    let (status, body) = read(registered).await;
    assert_eq!(status, 200, "{body}");
    let (id, token) = (
        body["user"]["id"].as_str().unwrap(),
        body["token"].as_str().unwrap(),
    );

    let (status, me) = host.get("/chat/api/me", Some(token)).await;
    assert_eq!((status, me["name"].as_str()), (200, Some("Ann")));
    let (status, missing) = host.get("/chat/api/no-such-route", Some(token)).await;
    assert_eq!((status, missing["code"].as_str()), (404, Some("not_found")));

    let (status, room) = host
        .post(
            "/chat/api/rooms",
            Some(token),
            json!({"name": "notes", "member_ids": []}),
        )
        .await;
    assert_eq!(status, 201, "{room}");
    let url = host.ws_url(&format!("/chat/ws/{id}?token={token}"));
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    send_frame(
        &mut socket,
        json!({"room_id": room["_id"], "message": "hi", "client_id": "c1"}),
    )
    .await;
    let echo = next_of(&mut socket, "message", std::time::Duration::from_secs(5)).await;
    assert_eq!(echo.expect("the echo")["message"], "hi");
}

#[tokio::test]
async fn left_out_accounts_are_not_served() {
    let chat = ChatRouter::new(engine())
        .without_accounts()
        .without_web_client()
        .build();
    let host = serve(axum::Router::new().nest("/chat", chat)).await;
    let (status, body) = host
        .post(
            "/chat/api/login",
            None,
            json!({"email": "a@example.com", "password": "x"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("not_found")),
        "{body}"
    );
    let (status, body) = host.get("/chat/api/me", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("unauthenticated"))
    );
}

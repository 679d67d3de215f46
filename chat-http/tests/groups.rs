//! Group rooms over real HTTP and WebSockets: the routes and their role rules, removal
//! cutting delivery off at once, protocol v2 sockets getting membership events and original
//! (v1) sockets never, and direct rooms as the original client knows them.

mod common;

use std::time::Duration;

use chat_core::EngineConfig;
use chat_http::HttpConfig;
use common::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const QUIET: Duration = Duration::from_millis(300);

/// A request with a method the shared helpers do not cover.
async fn call(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    user: &TestUser,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = server
        .http
        .request(method, server.url(path))
        .header("authtoken", &user.token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.unwrap()).await
}

/// A socket speaking protocol v2 through the `chat.v2` subprotocol, which the server selects.
async fn connect_v2(server: &Server, user: &TestUser) -> Socket {
    let url = server.ws_url(&format!("/ws/{}?token={}", user.id, user.token));
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "chat.v2".parse().unwrap());
    let (socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "chat.v2",
        "the server selects chat.v2"
    );
    socket
}

fn role_of(room: &Value, user: &TestUser) -> String {
    room["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|member| member["user_id"] == user.id.as_str())
        .map(|member| member["role"].as_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn routes_follow_the_role_rules_with_the_issue_status_codes() {
    let config = EngineConfig {
        max_room_members: 4,
        ..EngineConfig::default()
    };
    let server = start_with(config, HttpConfig::default()).await;
    let [ann, bob, cat, dan, eve] = [
        server.register("Ann").await,
        server.register("Bob").await,
        server.register("Cat").await,
        server.register("Dan").await,
        server.register("Eve").await,
    ];

    let room = server.group(&ann, "Team", &[&bob, &bob]).await;
    assert_eq!(room["kind"], "group");
    assert_eq!(room["name"], "Team");
    assert_eq!(room["created_by"], ann.id.as_str());
    assert_eq!(room["member_count"], 2, "duplicates ignored");
    assert_eq!(role_of(&room, &ann), "owner");
    assert_eq!(role_of(&room, &bob), "member");
    assert!(room["created_at"].is_string());
    let id = room["_id"].as_str().unwrap().to_owned();
    let path = format!("/api/rooms/{id}");
    let members = format!("{path}/members");

    let unknown = json!({"name": "X", "member_ids": [rand_tag()]});
    assert_eq!(
        server.post("/api/rooms", Some(&ann.token), unknown).await.0,
        404
    );
    let nameless = json!({"name": "  ", "member_ids": []});
    assert_eq!(
        server
            .post("/api/rooms", Some(&ann.token), nameless)
            .await
            .0,
        422
    );
    assert_eq!(server.get(&path, Some(&eve.token)).await.0, 403);
    assert_eq!(
        server
            .get(&format!("/api/rooms/{}", rand_tag()), Some(&ann.token))
            .await
            .0,
        404
    );
    assert_eq!(server.get(&path, Some(&bob.token)).await.0, 200);

    let add_cat = json!({"user_ids": [cat.id]});
    assert_eq!(
        server
            .post(&members, Some(&bob.token), add_cat.clone())
            .await
            .0,
        403
    );
    let role_path = format!("{members}/{}/role", bob.id);
    let (status, _) = call(
        &server,
        reqwest::Method::PUT,
        &role_path,
        &bob,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(status, 403, "only owners change roles");
    let (status, _) = call(
        &server,
        reqwest::Method::PUT,
        &role_path,
        &ann,
        Some(json!({"role": "owner"})),
    )
    .await;
    assert_eq!(status, 422);
    let (status, body) = call(
        &server,
        reqwest::Method::PUT,
        &role_path,
        &ann,
        Some(json!({"role": "admin"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(role_of(&body, &bob), "admin");

    let (status, body) = server.post(&members, Some(&bob.token), add_cat).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["member_count"], 3);
    let full = json!({"user_ids": [dan.id, eve.id]});
    assert_eq!(server.post(&members, Some(&bob.token), full).await.0, 409);

    let (status, page) = server
        .get(&format!("{members}?limit=2"), Some(&cat.token))
        .await;
    assert_eq!(status, 200, "{page}");
    let first = page.as_array().unwrap();
    assert_eq!(first.len(), 2);
    let after = first[1]["user_id"].as_str().unwrap();
    let (_, rest) = server
        .get(
            &format!("{members}?limit=2&after={after}"),
            Some(&cat.token),
        )
        .await;
    assert_eq!(rest.as_array().unwrap().len(), 1);

    let (status, _) = call(
        &server,
        reqwest::Method::PATCH,
        &path,
        &cat,
        Some(json!({"name": "Mine"})),
    )
    .await;
    assert_eq!(status, 403);
    let (status, body) = call(
        &server,
        reqwest::Method::PATCH,
        &path,
        &bob,
        Some(json!({"name": "Crew"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["name"], "Crew");

    let remove_ann = format!("{members}/{}", ann.id);
    assert_eq!(
        call(&server, reqwest::Method::DELETE, &remove_ann, &bob, None)
            .await
            .0,
        403
    );
    let remove_bob = format!("{members}/{}", bob.id);
    assert_eq!(
        call(&server, reqwest::Method::DELETE, &remove_bob, &cat, None)
            .await
            .0,
        403
    );
    let leave = format!("{members}/{}", cat.id);
    assert_eq!(
        call(&server, reqwest::Method::DELETE, &leave, &cat, None)
            .await
            .0,
        204
    );
    assert_eq!(server.get(&path, Some(&cat.token)).await.0, 403);
}

#[tokio::test]
async fn removal_cuts_delivery_off_at_once() {
    let server = start().await;
    let [ann, bob, cat] = [
        server.register("Ann").await,
        server.register("Bob").await,
        server.register("Cat").await,
    ];
    let room = server.group(&ann, "Team", &[&bob, &cat]).await;
    let id = room["_id"].as_str().unwrap().to_owned();
    let mut bob_socket = connect_v2(&server, &bob).await;
    let mut cat_socket = connect_v2(&server, &cat).await;

    let (status, _) = server
        .post(
            &format!("/api/messages/{id}"),
            Some(&ann.token),
            json!({"message": "one"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(next_message(&mut bob_socket).await["message"], "one");
    assert_eq!(next_message(&mut cat_socket).await["message"], "one");

    let remove = format!("/api/rooms/{id}/members/{}", bob.id);
    assert_eq!(
        call(&server, reqwest::Method::DELETE, &remove, &ann, None)
            .await
            .0,
        204
    );
    for socket in [&mut bob_socket, &mut cat_socket] {
        let farewell = next_message(socket).await;
        assert_eq!(farewell["type"], "room_event", "{farewell}");
        assert_eq!(farewell["event"]["kind"], "removed");
        assert_eq!(farewell["event"]["user_id"], bob.id.as_str());
        assert_eq!(farewell["chat_id"], id.as_str());
    }

    send_frame(&mut cat_socket, json!({"room_id": id, "message": "two"})).await;
    assert_eq!(next_message(&mut cat_socket).await["message"], "two");
    assert_silent(&mut bob_socket, QUIET).await;

    let (status, _) = server
        .get(&format!("/api/messages/{id}"), Some(&bob.token))
        .await;
    assert_eq!(status, 403);
    send_frame(
        &mut bob_socket,
        json!({"room_id": id, "message": "let me back", "client_id": "b1"}),
    )
    .await;
    let refused = next_message(&mut bob_socket).await;
    assert_eq!(refused["type"], "error", "{refused}");
    assert_eq!(refused["client_id"], "b1");
    let (_, chats) = server.get("/api/chats", Some(&bob.token)).await;
    assert!(chats.as_array().unwrap().is_empty(), "{chats}");
}

#[tokio::test]
async fn original_sockets_never_see_membership_events_and_v2_sockets_do() {
    let server = start().await;
    let [ann, bob, cat] = [
        server.register("Ann").await,
        server.register("Bob").await,
        server.register("Cat").await,
    ];
    let room = server.group(&ann, "Team", &[&bob]).await;
    let id = room["_id"].as_str().unwrap().to_owned();
    let mut v1 = server.connect(&bob).await;
    let query_url = server.ws_url(&format!("/ws/{}?token={}&protocol=2", bob.id, bob.token));
    let (mut by_query, _) = tokio_tungstenite::connect_async(query_url).await.unwrap();
    let mut by_subprotocol = connect_v2(&server, &bob).await;

    let members = format!("/api/rooms/{id}/members");
    assert_eq!(
        server
            .post(&members, Some(&ann.token), json!({"user_ids": [cat.id]}))
            .await
            .0,
        200
    );
    let path = format!("/api/rooms/{id}");
    assert_eq!(
        call(
            &server,
            reqwest::Method::PATCH,
            &path,
            &ann,
            Some(json!({"name": "Crew"}))
        )
        .await
        .0,
        200
    );
    server
        .post(
            &format!("/api/messages/{id}"),
            Some(&ann.token),
            json!({"message": "hi all"}),
        )
        .await;

    for socket in [&mut by_query, &mut by_subprotocol] {
        let added = next_message(socket).await;
        assert_eq!(added["type"], "room_event", "{added}");
        assert_eq!(
            added["event"],
            json!({"kind": "added", "user_id": cat.id, "role": "member"})
        );
        assert_eq!(added["message"], "Ann added a member");
        let renamed = next_message(socket).await;
        assert_eq!(renamed["event"], json!({"kind": "renamed", "name": "Crew"}));
        let message = next_message(socket).await;
        assert_eq!(message["type"], "message");
        assert_eq!(message["seq"], renamed["seq"].as_u64().unwrap() + 1);
    }
    let only = next_message(&mut v1).await;
    assert_eq!(only["type"], "message", "{only}");
    assert_eq!(only["message"], "hi all");
    assert!(only.get("event").is_none());
    assert_silent(&mut v1, QUIET).await;

    let (_, history) = server
        .get(&format!("/api/messages/{id}"), Some(&bob.token))
        .await;
    let texts: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "hi all",
            "Ann renamed the group to Crew",
            "Ann added a member",
            "Ann created the group Team"
        ],
        "history shows every entry in words, never an empty bubble"
    );
}

#[tokio::test]
async fn direct_rooms_keep_their_shape_beside_groups() {
    let server = start().await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let direct = server.room(&ann, &bob).await;
    let mut bob_socket = server.connect(&bob).await;
    let mut ann_socket = server.connect(&ann).await;
    send_frame(
        &mut ann_socket,
        json!({"room_id": direct, "message": "psst"}),
    )
    .await;
    let frame = next_message(&mut bob_socket).await;
    assert_eq!(frame["type"], "message");
    assert_eq!(frame["chat_id"], direct.as_str());
    assert!(frame.get("event").is_none());
    // Stores keep milliseconds: make the group's creation the later activity.
    tokio::time::sleep(Duration::from_millis(5)).await;
    server.group(&ann, "Team", &[&bob]).await;

    let (status, chats) = server.get("/api/chats", Some(&bob.token)).await;
    assert_eq!(status, 200);
    let chats = chats.as_array().unwrap();
    assert_eq!(chats.len(), 2);
    assert_eq!(chats[0]["kind"], "group", "most recent first");
    assert_eq!(chats[0]["receiver_name"], "Team");
    assert_eq!(chats[1]["kind"], "direct");
    assert_eq!(chats[1]["_id"], direct.as_str());
    assert_eq!(chats[1]["receiver_name"], "Ann");
    assert_eq!(chats[1]["receiver_id"], ann.id.as_str());
    assert_eq!(chats[1]["participants"].as_array().unwrap().len(), 2);
    assert_eq!(chats[1]["last_message"]["message"], "psst");
    assert!(chats[1].get("name").is_none());
}

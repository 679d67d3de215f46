//! The socket: authentication before upgrade, delivery to members only, acknowledgements,
//! error events, limits, and closing codes; with a real tokio-tungstenite client.

mod common;

use std::time::Duration;

use chat_core::EngineConfig;
use chat_core::limits::Quota;
use chat_http::HttpConfig;
use common::*;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

#[tokio::test]
async fn upgrades_are_refused_before_the_handshake_without_valid_auth() {
    let server = start().await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let base = server.ws_url(&format!("/ws/{}", ann.id));
    assert_eq!(server.refused(base.clone()).await, 401);
    assert_eq!(server.refused(format!("{base}?token=garbage")).await, 401);
    let others_path = server.ws_url(&format!("/ws/{}?token={}", bob.id, ann.token));
    assert_eq!(server.refused(others_path).await, 403);

    let mut foreign = base.clone().into_client_request().unwrap();
    let headers = foreign.headers_mut();
    headers.insert(
        "cookie",
        format!("chat_token={}", ann.token).parse().unwrap(),
    );
    headers.insert("origin", "http://evil.example".parse().unwrap());
    assert_eq!(server.refused(foreign).await, 403);

    let mut allowed = base.clone().into_client_request().unwrap();
    let headers = allowed.headers_mut();
    headers.insert(
        "cookie",
        format!("chat_token={}", ann.token).parse().unwrap(),
    );
    headers.insert("origin", "http://localhost:5173".parse().unwrap());
    assert!(tokio_tungstenite::connect_async(allowed).await.is_ok());

    let mut header_auth = server
        .ws_url(&format!("/api/ws/{}", ann.id))
        .into_client_request()
        .unwrap();
    header_auth
        .headers_mut()
        .insert("authtoken", ann.token.parse().unwrap());
    assert!(tokio_tungstenite::connect_async(header_auth).await.is_ok());
}

#[tokio::test]
async fn messages_reach_every_member_socket_and_nobody_else() {
    let server = start().await;
    let (ann, bob, eve) = (
        server.register("Ann").await,
        server.register("Bob").await,
        server.register("Eve").await,
    );
    let room = server.room(&ann, &bob).await;
    let mut ann_phone = server.connect(&ann).await;
    let mut ann_laptop = server.connect(&ann).await;
    let mut bob_socket = server.connect(&bob).await;
    let mut eve_socket = server.connect(&eve).await;
    send_frame(
        &mut ann_phone,
        json!({"room_id": room, "message": "hello", "client_id": "c-1",
               "sender_id": ann.id, "sender_name": "whoever", "timestamp": "x"}),
    )
    .await;
    for socket in [&mut ann_phone, &mut ann_laptop, &mut bob_socket] {
        let event = next_message(socket).await;
        assert_eq!(event["type"], "message");
        assert_eq!(event["message"], "hello");
        assert_eq!(event["sender_id"], ann.id.as_str());
        assert_eq!(event["sender_name"], "Ann");
        assert_eq!(event["room_id"], room.as_str());
        assert_eq!(event["chat_id"], room.as_str());
        assert_eq!(event["client_id"], "c-1");
        assert_eq!(event["seq"], 1);
        assert!(event["_id"].is_string() && event["timestamp"].is_string());
    }
    assert_silent(&mut eve_socket, Duration::from_millis(300)).await;
}

#[tokio::test]
async fn spoofed_senders_and_strangers_get_errors_and_nothing_is_stored() {
    let server = start().await;
    let (ann, bob, eve) = (
        server.register("Ann").await,
        server.register("Bob").await,
        server.register("Eve").await,
    );
    let room = server.room(&ann, &bob).await;
    let mut eve_socket = server.connect(&eve).await;
    let mut bob_socket = server.connect(&bob).await;
    send_frame(
        &mut eve_socket,
        json!({"room_id": room, "message": "I am Ann", "client_id": "x1", "sender_id": ann.id}),
    )
    .await;
    let error = next_json(&mut eve_socket).await;
    assert_eq!(error["type"], "error");
    assert_eq!(error["code"], "forbidden");
    assert_eq!(error["client_id"], "x1");
    send_frame(
        &mut eve_socket,
        json!({"room_id": room, "message": "let me in"}),
    )
    .await;
    assert_eq!(next_json(&mut eve_socket).await["code"], "forbidden");
    send_frame(
        &mut bob_socket,
        json!({"room_id": room, "message": "as ann", "sender_id": ann.id}),
    )
    .await;
    assert_eq!(next_json(&mut bob_socket).await["code"], "forbidden");
    let (_, history) = server
        .get(&format!("/api/messages/{room}"), Some(&ann.token))
        .await;
    assert!(history.as_array().unwrap().is_empty());
}

#[tokio::test]
async fn bad_frames_get_error_events_and_the_socket_survives() {
    let server = start().await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let mut socket = server.connect(&ann).await;
    socket
        .send(Message::Text("{not json".into()))
        .await
        .unwrap();
    assert_eq!(next_json(&mut socket).await["code"], "malformed_json");
    let cases = [
        (json!({"type": "dance", "client_id": "c"}), "unknown_type"),
        (
            json!({"room_id": room, "message": 5, "client_id": "c"}),
            "invalid",
        ),
        (
            json!({"room_id": rand_tag(), "message": "x", "client_id": "c"}),
            "not_found",
        ),
        (
            json!({"room_id": "garbage", "message": "x", "client_id": "c"}),
            "not_found",
        ),
        (
            json!({"room_id": room, "message": "  ", "client_id": "c"}),
            "invalid",
        ),
        (
            json!({"room_id": room, "message": "x".repeat(16 * 1024 + 1), "client_id": "c"}),
            "invalid",
        ),
    ];
    for (frame, code) in cases {
        send_frame(&mut socket, frame.clone()).await;
        let error = next_json(&mut socket).await;
        assert_eq!(error["type"], "error", "{frame}");
        assert_eq!(error["code"], code, "{frame}");
        assert_eq!(error["client_id"], "c");
        assert!(error["detail"].is_string());
    }
    send_frame(
        &mut socket,
        json!({"room_id": room, "message": "still here"}),
    )
    .await;
    assert_eq!(next_message(&mut socket).await["message"], "still here");
}

#[tokio::test]
async fn a_resend_with_the_same_client_id_is_acknowledged_once_stored_once() {
    let server = start().await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let mut ann_socket = server.connect(&ann).await;
    let mut bob_socket = server.connect(&bob).await;
    let frame = json!({"room_id": room, "message": "once", "client_id": "dup-1"});
    send_frame(&mut ann_socket, frame.clone()).await;
    let first = next_message(&mut ann_socket).await;
    send_frame(&mut ann_socket, frame).await;
    let again = next_message(&mut ann_socket).await;
    assert_eq!(again["_id"], first["_id"]);
    assert_eq!(again["seq"], 1);
    assert_eq!(next_message(&mut bob_socket).await["_id"], first["_id"]);
    assert_silent(&mut bob_socket, Duration::from_millis(300)).await;
    let (_, history) = server
        .get(&format!("/api/messages/{room}"), Some(&bob.token))
        .await;
    assert_eq!(history.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn concurrent_senders_are_seen_in_one_gapless_order_by_everyone() {
    let server = start().await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let mut watcher_a = server.connect(&ann).await;
    let mut watcher_b = server.connect(&bob).await;
    let mut ann_sender = server.connect(&ann).await;
    let mut bob_sender = server.connect(&bob).await;
    for i in 0..40 {
        send_frame(
            &mut ann_sender,
            json!({"room_id": room, "message": format!("a{i}")}),
        )
        .await;
        send_frame(
            &mut bob_sender,
            json!({"room_id": room, "message": format!("b{i}")}),
        )
        .await;
    }
    for watcher in [&mut watcher_a, &mut watcher_b] {
        let mut seqs = Vec::new();
        while seqs.len() < 80 {
            seqs.push(next_message(watcher).await["seq"].as_u64().unwrap());
        }
        assert_eq!(seqs, (1..=80).collect::<Vec<u64>>());
    }
}

#[tokio::test]
async fn senders_over_their_quota_are_told_so() {
    let config = EngineConfig {
        quota: Quota {
            per_second: 1,
            burst: 3,
        },
        ..EngineConfig::default()
    };
    let server = start_with(config, HttpConfig::default()).await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let mut socket = server.connect(&ann).await;
    for i in 0..3 {
        send_frame(
            &mut socket,
            json!({"room_id": room, "message": format!("m{i}")}),
        )
        .await;
        assert_eq!(next_message(&mut socket).await["type"], "message");
    }
    send_frame(
        &mut socket,
        json!({"room_id": room, "message": "too many", "client_id": "r"}),
    )
    .await;
    let error = next_json(&mut socket).await;
    assert_eq!(error["code"], "rate_limited");
    assert_eq!(error["client_id"], "r");
    let (status, _) = server
        .post(
            &format!("/api/messages/{room}"),
            Some(&ann.token),
            json!({"message": "rest"}),
        )
        .await;
    assert_eq!(status, 429);
}

/// Refusals that tell the client to retry later are held back to share writes; every one
/// still arrives, in the order its frames came, before the error of a later frame that is not
/// held, and the socket keeps working.
#[tokio::test]
async fn a_flood_of_refused_sends_gets_every_refusal_in_order() {
    let config = EngineConfig {
        quota: Quota {
            per_second: 1,
            burst: 1,
        },
        ..EngineConfig::default()
    };
    let server = start_with(config, HttpConfig::default()).await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let mut socket = server.connect(&ann).await;
    send_frame(&mut socket, json!({"room_id": room, "message": "first"})).await;
    assert_eq!(next_message(&mut socket).await["message"], "first");

    let refused =
        |i: usize| json!({"room_id": room, "message": "again", "client_id": format!("r{i}")});
    send_frame(&mut socket, refused(0)).await;
    send_frame(&mut socket, json!({"room_id": room, "client_id": "bad"})).await;
    let held = next_json(&mut socket).await;
    assert_eq!(held["code"], "rate_limited", "{held}");
    assert_eq!(held["client_id"], "r0");
    let invalid = next_json(&mut socket).await;
    assert_eq!(invalid["code"], "invalid", "{invalid}");
    assert_eq!(invalid["client_id"], "bad");

    let flood = 80;
    for i in 1..=flood {
        send_frame(&mut socket, refused(i)).await;
    }
    for i in 1..=flood {
        let error = next_json(&mut socket).await;
        assert_eq!(error["code"], "rate_limited", "{error}");
        assert_eq!(error["client_id"], format!("r{i}"));
    }

    let mut bob_socket = server.connect(&bob).await;
    send_frame(
        &mut bob_socket,
        json!({"room_id": room, "message": "still there?"}),
    )
    .await;
    assert_eq!(next_message(&mut socket).await["message"], "still there?");
}

#[tokio::test]
async fn the_socket_cap_refuses_extra_sockets_until_one_closes() {
    let config = EngineConfig {
        max_sockets_per_user: 2,
        ..EngineConfig::default()
    };
    let server = start_with(config, HttpConfig::default()).await;
    let ann = server.register("Ann").await;
    let mut first = server.connect(&ann).await;
    let _second = server.connect(&ann).await;
    let url = server.ws_url(&format!("/ws/{}?token={}", ann.id, ann.token));
    assert_eq!(server.refused(url.clone()).await, 429);
    first.close(None).await.unwrap();
    drop(first);
    let mut accepted = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if tokio_tungstenite::connect_async(url.clone()).await.is_ok() {
            accepted = true;
            break;
        }
    }
    assert!(accepted, "a freed slot was never reusable");
}

#[tokio::test]
async fn oversized_frames_close_with_1009() {
    let http = HttpConfig {
        max_frame_bytes: 1024,
        ..HttpConfig::default()
    };
    let server = start_with(EngineConfig::default(), http).await;
    let ann = server.register("Ann").await;
    let mut socket = server.connect(&ann).await;
    socket
        .send(Message::Text("x".repeat(2048).into()))
        .await
        .unwrap();
    assert_eq!(close_code(&mut socket).await, 1009);
}

#[tokio::test]
async fn silent_sockets_are_dropped_after_the_idle_timeout() {
    let http = HttpConfig {
        ping_interval: Duration::from_millis(300),
        idle_timeout: Duration::from_millis(900),
        ..HttpConfig::default()
    };
    let server = start_with(EngineConfig::default(), http).await;
    let ann = server.register("Ann").await;
    let mut socket = server.connect(&ann).await;
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(close_code(&mut socket).await, 1008);
}

#[tokio::test]
async fn a_socket_that_cannot_keep_up_is_closed_with_1013_without_slowing_others() {
    let engine = EngineConfig {
        socket_queue: 8,
        quota: Quota {
            per_second: 100_000,
            burst: 100_000,
        },
        ..EngineConfig::default()
    };
    let server = start_with(engine, HttpConfig::default()).await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let mut stalled = server.connect(&bob).await;
    let mut sender = server.connect(&ann).await;
    let text = "y".repeat(16 * 1024);
    for i in 0..1500 {
        send_frame(
            &mut sender,
            json!({"room_id": room, "message": text, "client_id": i.to_string()}),
        )
        .await;
        let echo = next_message(&mut sender).await;
        assert_eq!(echo["seq"], i + 1);
    }
    assert_eq!(close_code(&mut stalled).await, 1013);
}

#[tokio::test]
async fn shutdown_closes_sockets_with_1001() {
    let server = start().await;
    let ann = server.register("Ann").await;
    let mut socket = server.connect(&ann).await;
    server.state.shutdown.cancel();
    assert_eq!(close_code(&mut socket).await, 1001);
}

#[tokio::test]
async fn contacts_see_presence_changes() {
    let server = start().await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    server.room(&ann, &bob).await;
    let mut ann_socket = server.connect(&ann).await;
    let bob_socket = server.connect(&bob).await;
    let online = next_json(&mut ann_socket).await;
    assert_eq!(online["type"], "presence");
    assert_eq!(online["user_id"], bob.id.as_str());
    assert_eq!(online["online"], true);
    let (_, users) = server.get("/api/all-users", Some(&ann.token)).await;
    assert_eq!(users[0]["online"], true);
    let (_, rooms) = server.get("/api/chats", Some(&ann.token)).await;
    assert_eq!(rooms[0]["online"], true);
    drop(bob_socket);
    let offline = next_json(&mut ann_socket).await;
    assert_eq!(offline["type"], "presence");
    assert_eq!(offline["online"], false);
}

/// A masked client frame with `first` as its first byte (FIN, RSV and opcode) and an
/// all-zero mask, so the payload goes as is.
fn raw_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut frame = vec![first, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

#[tokio::test]
async fn read_errors_close_with_the_code_that_fits() {
    use tokio::io::AsyncWriteExt;
    let http = HttpConfig {
        max_frame_bytes: 1024,
        ..HttpConfig::default()
    };
    let server = start_with(EngineConfig::default(), http).await;
    let ann = server.register("Ann").await;
    let too_big_for_tungstenite = {
        let mut frame = vec![0x81, 0x80 | 126, 0x20, 0x00, 0, 0, 0, 0];
        frame.extend(std::iter::repeat_n(b'x', 0x2000));
        frame
    };
    let cases = [
        ("invalid UTF-8", raw_frame(0x81, &[0xff, 0xfe, 0xfd]), 1007),
        ("reserved bits", raw_frame(0xC1, b"hi"), 1002),
        ("unknown opcode", raw_frame(0x83, b"hi"), 1002),
        ("beyond the hard limit", too_big_for_tungstenite, 1009),
    ];
    for (case, bytes, code) in cases {
        let mut socket = server.connect(&ann).await;
        let tokio_tungstenite::MaybeTlsStream::Plain(tcp) = socket.get_mut() else {
            unreachable!("plain connection");
        };
        tcp.write_all(&bytes).await.unwrap();
        assert_eq!(close_code(&mut socket).await, code, "{case}");
    }
}

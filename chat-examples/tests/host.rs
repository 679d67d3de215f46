//! The host example over real sockets: its own login and authenticator, chat at `/chat`,
//! the hooks (moderation and the Echo Bot) and server-side sends.

use std::time::Duration;

use chat_examples::host::{self, Running};
use chat_examples::{announcer, bot};
use chat_testkit::{Socket, close_code, next_of, send_frame};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{Error as WsError, http::HeaderValue};

const PATIENCE: Duration = Duration::from_secs(5);

/// The host example on 127.0.0.1:0, whose sessions last `session_lifetime`.
async fn start(session_lifetime: Duration) -> Running {
    let app = host::Host::new(host::engine(), host::accounts(session_lifetime))
        .await
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    host::serve(app, listener).unwrap()
}

/// A user signed in to the host: the session cookie, and their chat user id.
struct SignedIn {
    cookie: String,
    user_id: String,
    lobby: String,
}

async fn login(running: &Running, username: &str, password: &str) -> SignedIn {
    let response = reqwest::Client::new()
        .post(format!("http://{}/login", running.addr))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    SignedIn {
        cookie,
        user_id: body["user_id"].as_str().unwrap().to_owned(),
        lobby: body["lobby"].as_str().unwrap().to_owned(),
    }
}

/// `GET` of a chat path with this cookie (or none): status and JSON body.
async fn get(running: &Running, path: &str, cookie: Option<&str>) -> (u16, Value) {
    let mut request = reqwest::Client::new().get(format!("http://{}/chat{path}", running.addr));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    chat_testkit::read(request.send().await.unwrap()).await
}

/// The upgrade request of `user_id`'s socket under `/chat`, with these extra headers.
fn socket_request(
    running: &Running,
    user_id: &str,
    headers: &[(&'static str, &str)],
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let url = format!("ws://{}/chat/ws/{user_id}", running.addr);
    let mut request = url.into_client_request().unwrap();
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, HeaderValue::from_str(value).unwrap());
    }
    request
}

async fn connect(running: &Running, user: &SignedIn) -> Socket {
    let request = socket_request(running, &user.user_id, &[("cookie", &user.cookie)]);
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn refused(request: tokio_tungstenite::tungstenite::handshake::client::Request) -> u16 {
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => panic!("upgrade unexpectedly accepted"),
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

/// The next message event, skipping presence and other events.
async fn next_message(socket: &mut Socket) -> Value {
    next_of(socket, "message", PATIENCE)
        .await
        .expect("a message event")
}

/// The lobby's history as `user` sees it, oldest first.
async fn history(running: &Running, user: &SignedIn) -> Vec<Value> {
    let path = format!("/api/messages/{}?limit=100", user.lobby);
    let (status, page) = get(running, &path, Some(&user.cookie)).await;
    assert_eq!(status, 200, "{page}");
    let mut messages = page.as_array().unwrap().clone();
    messages.reverse();
    messages
}

#[tokio::test]
async fn the_host_session_authenticates_rest_and_sockets_and_nothing_else_does() {
    let running = start(Duration::from_secs(3600)).await;
    let alice = login(&running, "alice", "alice-pw").await;
    let bob = login(&running, "bob", "bob-pw").await;

    let served = reqwest::Client::new()
        .get(format!("http://{}/chat/api/me", running.addr))
        .header("cookie", &alice.cookie)
        .send()
        .await
        .unwrap();
    let (name, value) = host::SERVED_BY;
    assert_eq!(
        served.headers()[name],
        value,
        "chat sits inside the host's layers"
    );
    let (status, me) = get(&running, "/api/me", Some(&alice.cookie)).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(
        (me["_id"].as_str(), me["name"].as_str()),
        (Some(&*alice.user_id), Some("Alice"))
    );
    for cookie in [None, Some("host_session=forged"), Some("chat_token=x")] {
        let (status, body) = get(&running, "/api/me", cookie).await;
        assert_eq!(status, 401, "{cookie:?}: {body}");
        assert_eq!(body["code"], "unauthenticated");
    }

    let mut socket = connect(&running, &alice).await;
    let no_cookie = socket_request(&running, &alice.user_id, &[]);
    assert_eq!(refused(no_cookie).await, 401);
    let forged = socket_request(
        &running,
        &alice.user_id,
        &[("cookie", "host_session=forged")],
    );
    assert_eq!(refused(forged).await, 401);
    let foreign = socket_request(
        &running,
        &alice.user_id,
        &[
            ("cookie", &alice.cookie),
            ("origin", "https://evil.example"),
        ],
    );
    assert_eq!(refused(foreign).await, 403);
    let impostor = socket_request(&running, &bob.user_id, &[("cookie", &alice.cookie)]);
    assert_eq!(refused(impostor).await, 403);

    let cross_site = reqwest::Client::new()
        .post(format!(
            "http://{}/chat/api/messages/{}",
            running.addr, alice.lobby
        ))
        .header("cookie", &alice.cookie)
        .header("origin", "https://evil.example")
        .json(&json!({"message": "posted by another site"}))
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site.status(), 403);

    // Chat's own accounts are left out of this router.
    let (status, _) = get(&running, "/api/register", None).await;
    assert_eq!(status, 404);

    send_frame(
        &mut socket,
        json!({"room_id": alice.lobby, "message": "hi", "client_id": "a1"}),
    )
    .await;
    let echo = next_message(&mut socket).await;
    assert_eq!(
        (echo["message"].as_str(), echo["sender_name"].as_str()),
        (Some("hi"), Some("Alice"))
    );

    let logout = reqwest::Client::new()
        .post(format!("http://{}/logout", running.addr))
        .header("cookie", &alice.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    assert_eq!(get(&running, "/api/me", Some(&alice.cookie)).await.0, 401);
    running.shutdown().await;
}

#[tokio::test]
async fn a_socket_closes_when_the_host_session_ends() {
    let running = start(Duration::from_secs(1)).await;
    let alice = login(&running, "alice", "alice-pw").await;
    let mut socket = connect(&running, &alice).await;
    assert_eq!(close_code(&mut socket).await, 1008);
    running.shutdown().await;
}

#[tokio::test]
async fn hooks_reject_and_rewrite_before_storing_and_the_bot_answers_in_order() {
    let running = start(Duration::from_secs(3600)).await;
    let alice = login(&running, "alice", "alice-pw").await;
    let bob = login(&running, "bob", "bob-pw").await;
    let mut alices = connect(&running, &alice).await;
    let mut bobs = connect(&running, &bob).await;

    send_frame(
        &mut alices,
        json!({"room_id": alice.lobby, "message": "buy spam", "client_id": "s1"}),
    )
    .await;
    let error = next_of(&mut alices, "error", PATIENCE)
        .await
        .expect("an error event");
    assert_eq!(
        (error["code"].as_str(), error["client_id"].as_str()),
        (Some("spam"), Some("s1")),
        "{error}"
    );
    assert_eq!(error["detail"], "no spam here");
    let over_rest = reqwest::Client::new()
        .post(format!(
            "http://{}/chat/api/messages/{}",
            running.addr, alice.lobby
        ))
        .header("cookie", &alice.cookie)
        .json(&json!({"message": "more spam"}))
        .send()
        .await
        .unwrap();
    let (status, body) = chat_testkit::read(over_rest).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("spam")),
        "{body}"
    );

    send_frame(
        &mut alices,
        json!({"room_id": alice.lobby, "message": "darn it", "client_id": "r1"}),
    )
    .await;
    assert_eq!(next_message(&mut alices).await["message"], "d**n it");
    assert_eq!(next_message(&mut bobs).await["message"], "d**n it");

    send_frame(
        &mut alices,
        json!({"room_id": alice.lobby, "message": "/echo hello", "client_id": "e1"}),
    )
    .await;
    for socket in [&mut alices, &mut bobs] {
        let asked = next_message(socket).await;
        let answer = next_message(socket).await;
        assert_eq!(asked["message"], "/echo hello");
        assert_eq!(answer["message"], "hello");
        assert_eq!(answer["sender_name"], bot::BOT_NAME);
        assert_eq!(
            answer["seq"].as_u64(),
            asked["seq"].as_u64().map(|seq| seq + 1)
        );
    }

    let texts: Vec<Value> = history(&running, &bob)
        .await
        .into_iter()
        .filter(|message| message["event"].is_null())
        .map(|message| message["message"].clone())
        .collect();
    assert_eq!(
        texts,
        [json!("d**n it"), json!("/echo hello"), json!("hello")]
    );
    running.shutdown().await;
}

#[tokio::test]
async fn server_side_sends_are_delivered_once_per_client_id() {
    let running = start(Duration::from_secs(3600)).await;
    let bob = login(&running, "bob", "bob-pw").await;
    let mut bobs = connect(&running, &bob).await;
    let engine = running.host.engine().clone();
    let lobby = running.host.lobby();

    let first = announcer::announce(&engine, lobby, 7).await.unwrap();
    let again = announcer::announce(&engine, lobby, 7).await.unwrap();
    assert_eq!((again.id, again.seq), (first.id, first.seq));
    let delivered = next_message(&mut bobs).await;
    assert_eq!(delivered["_id"], first.id.to_string());
    assert_eq!(delivered["sender_name"], "System");

    // A background task ticking many times in one period posts its digest once.
    let stop = tokio_util::sync::CancellationToken::new();
    let task = announcer::spawn(
        engine.clone(),
        lobby,
        Duration::from_millis(10),
        stop.clone(),
    );
    let digest = next_message(&mut bobs).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.cancel();
    task.await.unwrap();
    assert!(
        next_of(&mut bobs, "message", Duration::from_millis(300))
            .await
            .is_none()
    );
    let digests: Vec<Value> = history(&running, &bob)
        .await
        .into_iter()
        .filter(|message| {
            message["message"]
                .as_str()
                .is_some_and(|text| text.starts_with("Digest"))
        })
        .collect();
    assert_eq!(digests.len(), 2, "{digests:?}");
    assert_eq!(digests[1]["_id"], digest["_id"]);
    running.shutdown().await;
}

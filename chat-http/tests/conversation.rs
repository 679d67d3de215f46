//! Conversation state over real HTTP and WebSockets, on SQLite, on MongoDB, and across two
//! nodes sharing MongoDB and Redis: read positions and receipts, unread counts in the room
//! list, typing, edits, deletions, reactions, catch-up after being away, and original (v1)
//! sockets that never see any of the new event types.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chat_cache_redis::{RedisOptions, RedisSidecars};
use chat_core::store::Store;
use chat_core::{Engine, EngineConfig, NodeId, TokenKeys};
use chat_http::HttpConfig;
use chat_store_mongo::MongoStore;
use chat_store_sqlite::SqliteStore;
use common::*;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

/// How long a test waits to be sure an event does not come.
const QUIET: Duration = Duration::from_millis(400);
/// How long an expected event may take, across nodes on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(10);

fn engine(store: Arc<dyn Store>, sidecars: Option<RedisSidecars>) -> Engine {
    let mut builder = Engine::builder(store, TokenKeys::from_secret(b"one deployment"))
        .config(EngineConfig::default());
    if let Some(sidecars) = sidecars {
        builder = builder
            .bus(Arc::new(sidecars.bus))
            .presence(Arc::new(sidecars.presence))
            .rate_limiter(Arc::new(sidecars.limiter));
    }
    builder.build()
}

async fn sqlite_server() -> Server {
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open_temp().unwrap());
    serve_engine(engine(store, None), HttpConfig::default()).await
}

/// Two nodes on one fresh MongoDB database and one Redis, or `None` when either is not
/// configured.
async fn mongo_redis_nodes() -> Option<(Server, Server)> {
    let (mongo, redis) = (mongo_url()?, redis_url()?);
    let database = unique_name("chat_conversation");
    let options = RedisOptions {
        key_prefix: format!("test:{}:", NodeId::generate()),
        ..RedisOptions::default()
    };
    let mut nodes = Vec::new();
    for _ in 0..2 {
        let store: Arc<dyn Store> = Arc::new(MongoStore::connect(&mongo, &database).await.unwrap());
        let sidecars = RedisSidecars::connect(&redis, options.clone())
            .await
            .unwrap();
        nodes.push(serve_engine(engine(store, Some(sidecars)), HttpConfig::default()).await);
    }
    let second = nodes.pop()?;
    Some((nodes.pop()?, second))
}

/// The next event of `kind` for `room`, skipping everything else; panics after [`PATIENCE`].
async fn expect(socket: &mut Socket, kind: &str, room: &str) -> Value {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = next_of(socket, kind, wait)
            .await
            .unwrap_or_else(|| panic!("no {kind} event for {room}"));
        if event["room_id"] == room {
            return event;
        }
    }
}

/// Asserts no event of `kind` arrives within [`QUIET`].
async fn expect_none(socket: &mut Socket, kind: &str) {
    if let Some(event) = next_of(socket, kind, QUIET).await {
        panic!("unexpected {kind} event {event}");
    }
}

/// Every text frame a socket received until now (waiting [`QUIET`] for stragglers).
async fn drain(socket: &mut Socket) -> Vec<Value> {
    let mut frames = Vec::new();
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(QUIET, socket.next()).await {
        if let Message::Text(text) = frame {
            frames.push(serde_json::from_str(&text).unwrap());
        }
    }
    frames
}

fn room_entry<'a>(rooms: &'a Value, room: &str) -> &'a Value {
    rooms
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["_id"] == room)
        .unwrap_or_else(|| panic!("room {room} not listed in {rooms}"))
}

async fn send(client: &Client, user: &TestUser, room: &str, text: &str) -> Value {
    let (status, message) = client
        .post(
            &format!("/api/messages/{room}"),
            Some(&user.token),
            json!({"message": text}),
        )
        .await;
    assert_eq!(status, 201, "{message}");
    message
}

/// Every rule of the issue between Ann on `a` and Bob on `b` (the same server, or two nodes).
async fn conversation_rules(a: &Client, b: &Client) {
    let ann = a.register("Ann").await;
    let bob = a.register("Bob").await;
    let cat = a.register("Cat").await;
    let room = a.room(&ann, &bob).await;
    let mut ann_v2 = a.connect_v2(&ann).await;
    let mut bob_v2 = b.connect_v2(&bob).await;
    let mut bob_v1 = b.connect(&bob).await;
    let mut cat_v2 = b.connect_v2(&cat).await;
    tokio::time::sleep(QUIET).await;

    let mut sent = Vec::new();
    for text in ["one", "two", "three"] {
        sent.push(send(a, &ann, &room, text).await);
    }

    // Unread counts and read positions in the room list, next to the original fields.
    let (status, rooms) = b.get("/api/chats", Some(&bob.token)).await;
    assert_eq!(status, 200);
    let entry = room_entry(&rooms, &room);
    assert_eq!(
        (entry["unread"].as_u64(), entry["read_seq"].as_u64()),
        (Some(3), Some(0))
    );
    assert_eq!(
        entry["other_read_seq"], 3,
        "sending moves the sender's position"
    );
    for field in [
        "participants",
        "participant_names",
        "receiver_id",
        "receiver_name",
        "online",
    ] {
        assert!(entry.get(field).is_some(), "{field} kept");
    }

    // A read frame moves Bob's position and reaches Ann as a receipt.
    send_frame(
        &mut bob_v2,
        json!({"type": "read", "room_id": room, "seq": 2}),
    )
    .await;
    let receipt = expect(&mut ann_v2, "read", &room).await;
    assert_eq!(
        (receipt["user_id"].as_str(), receipt["seq"].as_u64()),
        (Some(bob.id.as_str()), Some(2))
    );
    let read_path = format!("/api/rooms/{room}/read");
    let read = |seq: u64| b.post(&read_path, Some(&bob.token), json!({"seq": seq}));
    let (status, position) = read(1).await;
    assert_eq!(
        (status, position["seq"].as_u64()),
        (200, Some(2)),
        "never moves back"
    );
    let (_, position) = read(99).await;
    assert_eq!(position["seq"], 3, "clamped to the room's newest");
    assert_eq!(expect(&mut ann_v2, "read", &room).await["seq"], 3);
    let (status, refused) = a
        .post(
            &format!("/api/rooms/{room}/read"),
            Some(&cat.token),
            json!({"seq": 1}),
        )
        .await;
    assert_eq!(status, 403, "{refused}");
    let (_, rooms) = a.get("/api/chats", Some(&ann.token)).await;
    let entry = room_entry(&rooms, &room);
    assert_eq!(
        (entry["unread"].as_u64(), entry["other_read_seq"].as_u64()),
        (Some(0), Some(3))
    );
    let (_, rooms) = b.get("/api/chats", Some(&bob.token)).await;
    assert_eq!(room_entry(&rooms, &room)["unread"], 0);

    // Typing: relayed with the name, throttled, members only.
    send_frame(&mut bob_v2, json!({"type": "typing", "room_id": room})).await;
    let typing = expect(&mut ann_v2, "typing", &room).await;
    assert_eq!(
        (typing["user_id"].as_str(), typing["name"].as_str()),
        (Some(bob.id.as_str()), Some("Bob"))
    );
    send_frame(&mut bob_v2, json!({"type": "typing", "room_id": room})).await;
    expect_none(&mut ann_v2, "typing").await;
    expect_none(&mut bob_v2, "typing").await;
    send_frame(&mut cat_v2, json!({"type": "typing", "room_id": room})).await;
    let refused = next_of(&mut cat_v2, "error", PATIENCE).await.unwrap();
    assert_eq!(refused["code"], "forbidden");

    // Edits: the author only, same text rules, seq kept, event to members.
    let first = sent[0]["_id"].as_str().unwrap();
    let path = format!("/api/messages/{room}/{first}");
    let (status, _) = b.patch(&path, &bob, json!({"message": "hijacked"})).await;
    assert_eq!(status, 403);
    let (status, _) = a.patch(&path, &ann, json!({"message": "  "})).await;
    assert_eq!(status, 422);
    let (status, edited) = a
        .patch(&path, &ann, json!({"message": "one (fixed)"}))
        .await;
    assert_eq!(status, 200, "{edited}");
    assert_eq!(
        (edited["seq"].as_u64(), edited["message"].as_str()),
        (Some(1), Some("one (fixed)"))
    );
    assert!(edited["edited_at"].is_string());
    let event = expect(&mut bob_v2, "message_edited", &room).await;
    assert_eq!(
        (event["_id"].as_str(), event["message"].as_str()),
        (Some(first), Some("one (fixed)"))
    );

    // Reactions: one grapheme, once per user, counted with `me` in history.
    let second = sent[1]["_id"].as_str().unwrap();
    let thumbs = format!("/api/messages/{room}/{second}/reactions/%F0%9F%91%8D");
    for _ in 0..2 {
        let (status, reacted) = b.put(&thumbs, &bob, json!({})).await;
        assert_eq!(status, 200, "{reacted}");
        assert_eq!(
            reacted["reactions"],
            json!([{"emoji": "👍", "count": 1, "me": true}])
        );
    }
    let event = expect(&mut ann_v2, "reaction", &room).await;
    assert_eq!(
        (
            event["message_id"].as_str(),
            event["emoji"].as_str(),
            event["added"].as_bool()
        ),
        (Some(second), Some("👍"), Some(true))
    );
    expect_none(&mut ann_v2, "reaction").await;
    let (status, _) = b
        .put(
            &format!("/api/messages/{room}/{second}/reactions/ab"),
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(status, 422);
    let history = a.history(&ann, &room).await;
    let reacted = history
        .iter()
        .find(|message| message["_id"] == second)
        .unwrap();
    assert_eq!(
        reacted["reactions"],
        json!([{"emoji": "👍", "count": 1, "me": false}])
    );

    // Deletions: the author (not the other member), a tombstone in history, an event.
    let third = sent[2]["_id"].as_str().unwrap();
    let path = format!("/api/messages/{room}/{third}");
    let (status, _) = b.delete(&path, &bob).await;
    assert_eq!(status, 403);
    let (status, tombstone) = a.delete(&path, &ann).await;
    assert_eq!(status, 200, "{tombstone}");
    assert_eq!(
        (
            tombstone["deleted"].as_bool(),
            tombstone["message"].as_str()
        ),
        (Some(true), Some(""))
    );
    let event = expect(&mut bob_v2, "message_deleted", &room).await;
    assert_eq!(
        (event["_id"].as_str(), event["seq"].as_u64()),
        (Some(third), Some(3))
    );
    let history = b.history(&bob, &room).await;
    let listed = history
        .iter()
        .find(|message| message["_id"] == third)
        .unwrap();
    assert_eq!(
        (
            listed["deleted"].as_bool(),
            listed["message"].as_str(),
            listed["seq"].as_u64()
        ),
        (Some(true), Some(""), Some(3))
    );
    assert_eq!(listed["sender_id"], ann.id.as_str());
    let (status, _) = a.patch(&path, &ann, json!({"message": "back"})).await;
    assert_eq!(status, 409);

    // The original protocol saw the messages and nothing of the rest.
    let frames = drain(&mut bob_v1).await;
    let kinds: Vec<&str> = frames
        .iter()
        .filter_map(|frame| frame["type"].as_str())
        .collect();
    assert!(
        kinds
            .iter()
            .all(|kind| ["message", "presence"].contains(kind)),
        "{kinds:?}"
    );
    assert_eq!(kinds.iter().filter(|kind| **kind == "message").count(), 3);
}

/// Bob is away while Ann sends, edits, deletes and reacts; on return two kinds of request
/// bring his copy of the room to exactly what the server holds.
async fn catch_up(a: &Client, b: &Client) {
    let ann = a.register("Ann").await;
    let bob = b.register("Bob").await;
    let room = a.room(&ann, &bob).await;
    for text in ["a", "b", "c", "d"] {
        send(a, &ann, &room, text).await;
    }
    let (_, start) = b
        .get(&format!("/api/rooms/{room}/changes"), Some(&bob.token))
        .await;
    let mut cursor = start["cursor"].as_str().unwrap().to_owned();
    let mut known = b.history(&bob, &room).await;

    // Away: new messages, an edit, a deletion and reactions on old and new ones.
    let new = send(a, &ann, &room, "e").await;
    send(a, &ann, &room, "f").await;
    let id = |message: &Value| message["_id"].as_str().unwrap().to_owned();
    a.patch(
        &format!("/api/messages/{room}/{}", id(&known[0])),
        &ann,
        json!({"message": "A"}),
    )
    .await;
    a.delete(&format!("/api/messages/{room}/{}", id(&known[1])), &ann)
        .await;
    a.put(
        &format!("/api/messages/{room}/{}/reactions/%E2%9C%85", id(&known[2])),
        &ann,
        json!({}),
    )
    .await;
    a.put(
        &format!("/api/messages/{room}/{}/reactions/%E2%9C%85", id(&new)),
        &ann,
        json!({}),
    )
    .await;

    // Back: forward pages from the last seq held, then the changes since the cursor.
    let mut after = known.last().unwrap()["seq"].as_u64().unwrap();
    loop {
        let (status, page) = b
            .get(
                &format!("/api/messages/{room}?after={after}&limit=1"),
                Some(&bob.token),
            )
            .await;
        assert_eq!(status, 200);
        let page = page.as_array().unwrap().clone();
        let Some(last) = page.last() else { break };
        after = last["seq"].as_u64().unwrap();
        known.extend(page);
    }
    loop {
        let (status, page) = b
            .get(
                &format!("/api/rooms/{room}/changes?since={cursor}&limit=2"),
                Some(&bob.token),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        for changed in page["changes"].as_array().unwrap() {
            let slot = known
                .iter_mut()
                .find(|message| message["_id"] == changed["_id"])
                .unwrap();
            *slot = changed.clone();
        }
        cursor = page["cursor"].as_str().unwrap().to_owned();
        if page["more"] != true {
            break;
        }
    }
    let server = b.history(&bob, &room).await;
    let seqs: Vec<u64> = known
        .iter()
        .map(|message| message["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=6).collect::<Vec<_>>(),
        "every message once, in order"
    );
    assert_eq!(known, server);
    assert_eq!(known[0]["message"], "A");
    assert_eq!(known[1]["deleted"], true);
    assert_eq!(known[2]["reactions"][0]["count"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_conversation_rules() {
    let server = sqlite_server().await;
    conversation_rules(&server, &server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_catch_up_is_exact() {
    let server = sqlite_server().await;
    catch_up(&server, &server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_and_redis_conversation_rules_across_two_nodes() {
    let Some((one, two)) = mongo_redis_nodes().await else {
        eprintln!("SKIPPED: CHAT_TEST_MONGO_URL or CHAT_TEST_REDIS_URL not set");
        return;
    };
    conversation_rules(&one, &two).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongo_and_redis_catch_up_is_exact_across_two_nodes() {
    let Some((one, two)) = mongo_redis_nodes().await else {
        eprintln!("SKIPPED: CHAT_TEST_MONGO_URL or CHAT_TEST_REDIS_URL not set");
        return;
    };
    catch_up(&one, &two).await;
}

//! Group rooms across two `chat serve` nodes sharing one MongoDB (FerretDB) and one Redis:
//! every member's sockets, on either node, get each event of the room once and in seq order;
//! a removal on one node cuts the removed user off on the other at once; and two nodes adding
//! the same user at the same time make one membership.

use std::collections::BTreeSet;
use std::time::Duration;

use chat_testkit::*;
use serde_json::{Value, json};

/// The `chat` binary cargo built for these tests.
const CHAT: &str = env!("CARGO_BIN_EXE_chat");

/// How long a socket may take to receive what it is owed, on a loaded machine.
const PATIENCE: Duration = Duration::from_secs(15);

fn shared_flags(mongo: &str, redis: &str) -> Vec<String> {
    vec![
        "--mongo-url".into(),
        mongo_url_with_db(mongo, &unique_name("chat_groups")),
        "--redis-url".into(),
        redis.into(),
        "--redis-prefix".into(),
        format!("{}:", unique_name("g")),
        "--rate-burst".into(),
        "1000".into(),
    ]
}

/// The next `count` events of `room` (messages and membership events) on `socket`, skipping
/// presence and other rooms; panics if they do not all arrive within [`PATIENCE`].
async fn room_events(socket: &mut Socket, room: &str, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    let mut events = Vec::new();
    while events.len() < count {
        let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = tokio::time::timeout(wait, next_message(socket))
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} events: {events:?}", events.len()));
        assert_ne!(event["type"], "error", "{event}");
        if event["chat_id"] == room {
            events.push(event);
        }
    }
    events
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_spread_over_two_nodes_gets_everything_once_in_order_and_removal_cuts_off_at_once()
{
    let (Some(mongo), Some(redis)) = (mongo_url(), redis_url()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let flags = shared_flags(&mongo, &redis);
    let one = Node::start(CHAT, &dir.path().join("one"), &flags).await;
    let two = Node::start(CHAT, &dir.path().join("two"), &flags).await;
    let mut users = Vec::new();
    for name in ["Ann", "Bob", "Cat", "Dan", "Eve", "Fay"] {
        users.push(one.register(name).await);
    }
    let [ann, bob, cat, dan, eve, fay] = <[TestUser; 6]>::try_from(users).unwrap();
    let room = one
        .group(&ann, "Team", &[&bob, &cat, &dan, &eve, &fay])
        .await;
    let id = room["_id"].as_str().unwrap().to_owned();
    assert_eq!(room["member_count"], 6, "{room}");

    // Sockets on both nodes: Ann and Eve on each, Bob only on two (where he is cut off).
    let placement: [(&Node, &TestUser); 8] = [
        (&one, &ann),
        (&two, &ann),
        (&two, &bob),
        (&one, &cat),
        (&two, &dan),
        (&one, &eve),
        (&two, &eve),
        (&two, &fay),
    ];
    let mut sockets = Vec::new();
    for (node, user) in placement {
        sockets.push(node.connect_v2(user).await);
    }

    let total = 24usize;
    for i in 0..total {
        let sender = i % sockets.len();
        send_frame(
            &mut sockets[sender],
            json!({"room_id": id, "message": format!("m{i}"), "client_id": format!("c{i}")}),
        )
        .await;
    }
    let mut received = Vec::new();
    for socket in sockets.iter_mut() {
        received.push(room_events(socket, &id, total).await);
    }
    let history = two.history(&ann, &id).await;
    let stored: Vec<(u64, String)> = history
        .iter()
        .filter(|entry| entry["event"].is_null())
        .map(|m| (m["seq"].as_u64().unwrap(), m["client_id"].to_string()))
        .collect();
    assert_eq!(stored.len(), total, "{history:?}");
    for (index, events) in received.iter().enumerate() {
        let got: Vec<(u64, String)> = events
            .iter()
            .map(|m| (m["seq"].as_u64().unwrap(), m["client_id"].to_string()))
            .collect();
        assert_eq!(
            got, stored,
            "socket {index} gets every message once, in seq order"
        );
    }

    // Ann removes Bob on node one; the very next messages, from either node, never reach
    // Bob's socket on node two.
    let remove = format!("/api/rooms/{id}/members/{}", bob.id);
    let (status, body) = one.delete(&remove, &ann).await;
    assert_eq!(status, 204, "{body}");
    send_frame(
        &mut sockets[3],
        json!({"room_id": id, "message": "after on one", "client_id": "a1"}),
    )
    .await;
    let (status, body) = two
        .post(
            &format!("/api/messages/{id}"),
            Some(&dan.token),
            json!({"message": "after on two", "client_id": "a2"}),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    let farewell = room_events(&mut sockets[2], &id, 1).await.remove(0);
    assert_eq!(farewell["type"], "room_event", "{farewell}");
    assert_eq!(
        farewell["event"],
        json!({"kind": "removed", "user_id": bob.id})
    );
    for index in [0, 1, 3, 4, 5, 6, 7] {
        let events = room_events(&mut sockets[index], &id, 3).await;
        assert_eq!(events[0]["event"]["kind"], "removed", "{events:?}");
        assert_eq!(
            BTreeSet::from([events[1]["message"].as_str(), events[2]["message"].as_str()]),
            BTreeSet::from([Some("after on one"), Some("after on two")]),
            "socket {index}"
        );
        assert!(events[0]["seq"].as_u64() < events[1]["seq"].as_u64());
        assert!(events[1]["seq"].as_u64() < events[2]["seq"].as_u64());
    }
    assert_silent(&mut sockets[2], Duration::from_secs(1)).await;
    let (status, _) = two
        .get(&format!("/api/messages/{id}"), Some(&bob.token))
        .await;
    assert_eq!(
        status, 403,
        "a removed member reads no history, on any node"
    );
    let (status, _) = two.get(&format!("/api/rooms/{id}"), Some(&bob.token)).await;
    assert_eq!(status, 403);
    send_frame(
        &mut sockets[2],
        json!({"room_id": id, "message": "let me back", "client_id": "b1"}),
    )
    .await;
    let refused = next_message(&mut sockets[2]).await;
    assert_eq!(refused["type"], "error", "{refused}");
    let (_, chats) = two.get("/api/chats", Some(&bob.token)).await;
    assert!(chats.as_array().unwrap().is_empty(), "{chats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_adding_the_same_user_at_once_make_one_membership() {
    let (Some(mongo), Some(redis)) = (mongo_url(), redis_url()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let flags = shared_flags(&mongo, &redis);
    let one = Node::start(CHAT, &dir.path().join("one"), &flags).await;
    let two = Node::start(CHAT, &dir.path().join("two"), &flags).await;
    let ann = one.register("Ann").await;
    let bob = one.register("Bob").await;
    let room = one.group(&ann, "Race", &[&bob]).await;
    let id = room["_id"].as_str().unwrap().to_owned();
    let (status, body) = one
        .put(
            &format!("/api/rooms/{id}/members/{}/role", bob.id),
            &ann,
            json!({"role": "admin"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");

    let members = format!("/api/rooms/{id}/members");
    let mut added = Vec::new();
    for round in 0..6 {
        let user = two.register(&format!("New{round}")).await;
        let body = json!({"user_ids": [user.id]});
        let (on_one, on_two) = tokio::join!(
            one.post(&members, Some(&ann.token), body.clone()),
            two.post(&members, Some(&bob.token), body),
        );
        assert_eq!((on_one.0, on_two.0), (200, 200), "{on_one:?} {on_two:?}");
        added.push(user);
    }

    let (status, page) = two
        .get(&format!("{members}?limit=1000"), Some(&ann.token))
        .await;
    assert_eq!(status, 200, "{page}");
    let page = page.as_array().expect("a page of members").clone();
    let ids: Vec<&str> = page
        .iter()
        .map(|member| member["user_id"].as_str().unwrap())
        .collect();
    let distinct: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), distinct.len(), "a member listed twice: {ids:?}");
    assert_eq!(ids.len(), 2 + added.len(), "{ids:?}");
    for user in &added {
        assert!(distinct.contains(user.id.as_str()), "{} missing", user.name);
    }
    let (_, room) = one.get(&format!("/api/rooms/{id}"), Some(&ann.token)).await;
    assert_eq!(room["member_count"], 2 + added.len(), "{room}");

    let history = one.history(&ann, &id).await;
    for user in &added {
        let adds = history
            .iter()
            .filter(|entry| {
                entry["event"]["kind"] == "added" && entry["event"]["user_id"] == user.id.as_str()
            })
            .count();
        assert_eq!(adds, 1, "one timeline entry per membership: {history:?}");
    }
    let seqs: Vec<u64> = history
        .iter()
        .map(|entry| entry["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_co_members_on_the_other_node_see_presence() {
    let (Some(mongo), Some(redis)) = (mongo_url(), redis_url()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let flags = shared_flags(&mongo, &redis);
    let one = Node::start(CHAT, &dir.path().join("one"), &flags).await;
    let two = Node::start(CHAT, &dir.path().join("two"), &flags).await;
    let [ann, bob, eve] = [
        one.register("Ann").await,
        one.register("Bob").await,
        one.register("Eve").await,
    ];
    one.group(&ann, "Team", &[&bob]).await;
    let mut ann_socket = one.connect(&ann).await;
    let mut eve_socket = one.connect(&eve).await;

    let bob_socket = two.connect_v2(&bob).await;
    let online = next_of(&mut ann_socket, "presence", PATIENCE)
        .await
        .expect("a group co-member's presence, though they share no direct room");
    assert_eq!(
        online,
        json!({"type": "presence", "user_id": bob.id, "online": true})
    );
    drop(bob_socket);
    let offline = next_of(&mut ann_socket, "presence", PATIENCE)
        .await
        .expect("offline too");
    assert_eq!(offline["online"], false, "{offline}");
    assert!(
        next_of(&mut eve_socket, "presence", Duration::from_secs(1))
            .await
            .is_none(),
        "a user outside the group hears nothing"
    );
}

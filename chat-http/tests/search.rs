//! Message search and the history page around a message, over real HTTP on SQLite and on
//! MongoDB (FerretDB under `scripts/test`): hits and snippets, paging, rooms of others and
//! rooms left never matching, and `around`.

mod common;

use std::sync::Arc;

use chat_core::store::Store;
use chat_store_mongo::MongoStore;
use chat_store_sqlite::SqliteStore;
use common::*;
use serde_json::{Value, json};

/// `GET /api/search` with `params` as `user`.
async fn search(server: &Server, user: &TestUser, params: &[(&str, &str)]) -> (u16, Value) {
    let request = server
        .http
        .get(server.url("/api/search"))
        .query(params)
        .bearer_auth(&user.token);
    read(request.send().await.unwrap()).await
}

/// The texts of a successful search.
async fn found(server: &Server, user: &TestUser, params: &[(&str, &str)]) -> Vec<String> {
    let (status, body) = search(server, user, params).await;
    assert_eq!(status, 200, "{body}");
    hits(&body)
        .iter()
        .map(|hit| hit["message"].as_str().unwrap().to_owned())
        .collect()
}

fn hits(body: &Value) -> &Vec<Value> {
    body["hits"].as_array().expect("hits")
}

async fn send(server: &Server, user: &TestUser, room: &str, text: &str) -> Value {
    let (status, body) = server
        .post(
            &format!("/api/messages/{room}"),
            Some(&user.token),
            json!({ "message": text }),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    body
}

fn seqs(page: &Value) -> Vec<u64> {
    page.as_array()
        .unwrap()
        .iter()
        .map(|message| message["seq"].as_u64().unwrap())
        .collect()
}

/// A hit is the message (room, seq, id) with a snippet of text pieces, markup left as text.
async fn hits_carry_the_message_and_a_snippet(server: Server) {
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    send(&server, &ann, &room, "no match here").await;
    let sent = send(
        &server,
        &ann,
        &room,
        "Meet at the <b>Harbour</b> café at noon",
    )
    .await;
    send(&server, &bob, &room, "harbours are nice, lunch?").await;

    let (status, body) = search(&server, &bob, &[("q", "HARBOUR café")]).await;
    assert_eq!(status, 200, "{body}");
    let hit = &hits(&body)[0];
    assert_eq!(hits(&body).len(), 1, "{body}");
    assert_eq!(hit["_id"], sent["_id"]);
    assert_eq!(hit["room_id"], room.as_str());
    assert_eq!(hit["seq"], 2);
    assert_eq!(hit["sender_name"], "Ann");
    let marked: Vec<&str> = hit["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|segment| segment["hit"] == true)
        .map(|segment| segment["text"].as_str().unwrap())
        .collect();
    assert_eq!(marked, ["Harbour", "café"]);
    let whole: String = hit["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .map(|segment| segment["text"].as_str().unwrap())
        .collect();
    assert_eq!(whole, "Meet at the <b>Harbour</b> café at noon");
    assert!(body.get("next_before").is_none(), "{body}");

    let in_room = found(&server, &ann, &[("q", "lunch"), ("room_id", &room)]).await;
    assert_eq!(in_room, ["harbours are nice, lunch?"]);
    for (params, status) in [
        (vec![("q", "")], 422),
        (vec![("q", "?!*")], 422),
        (vec![], 422),
        (vec![("q", "a b c d e f g h i")], 422),
        (vec![("q", "x"), ("before", "nope")], 422),
        (vec![("q", "x"), ("room_id", "nope")], 404),
    ] {
        let (got, body) = search(&server, &ann, &params).await;
        assert_eq!(got, status, "{params:?}: {body}");
    }
    let (status, _) = server.get("/api/search?q=harbour", None).await;
    assert_eq!(status, 401);
}

/// Someone outside a room never finds its messages, and cannot name it.
async fn non_members_never_find_other_rooms(server: Server) {
    let (ann, bob, eve) = (
        server.register("Ann").await,
        server.register("Bob").await,
        server.register("Eve").await,
    );
    let room = server.room(&ann, &bob).await;
    send(&server, &ann, &room, "the vault code is 7421").await;
    let eves = server.room(&eve, &bob).await;
    send(&server, &eve, &eves, "what is the vault code?").await;

    assert_eq!(
        found(&server, &eve, &[("q", "vault code")]).await,
        ["what is the vault code?"]
    );
    let (status, _) = search(&server, &eve, &[("q", "vault"), ("room_id", &room)]).await;
    assert_eq!(status, 403);
    assert_eq!(found(&server, &bob, &[("q", "vault")]).await.len(), 2);
    let (_, bobs) = search(&server, &bob, &[("q", "7421")]).await;
    let cursor = hits(&bobs)[0]["_id"].as_str().unwrap().to_owned();
    let (status, _) = search(&server, &eve, &[("q", "vault"), ("before", &cursor)]).await;
    assert_eq!(status, 422, "another room's message is no cursor for Eve");
}

/// A member who leaves a group stops finding it; membership entries never match.
async fn leaving_a_group_stops_matching(server: Server) {
    let (ann, bob, carl) = (
        server.register("Ann").await,
        server.register("Bob").await,
        server.register("Carl").await,
    );
    let group = server.group(&ann, "Budget", &[&bob, &carl]).await;
    let room = group["_id"].as_str().unwrap().to_owned();
    send(&server, &bob, &room, "quarterly budget draft").await;
    assert_eq!(
        found(&server, &carl, &[("q", "quarterly")]).await,
        ["quarterly budget draft"]
    );
    let (status, body) = server
        .delete(&format!("/api/rooms/{room}/members/{}", carl.id), &carl)
        .await;
    assert_eq!(status, 204, "{body}");
    assert!(
        found(&server, &carl, &[("q", "quarterly")])
            .await
            .is_empty()
    );
    let (status, _) = search(&server, &carl, &[("q", "quarterly"), ("room_id", &room)]).await;
    assert_eq!(status, 403);
    // The history shows "Ann created the group Budget", "Carl left": words no search finds.
    for words in ["created", "left", "group budget"] {
        assert!(
            found(&server, &ann, &[("q", words)]).await.is_empty(),
            "{words}"
        );
    }
    assert_eq!(found(&server, &ann, &[("q", "budget")]).await.len(), 1);
}

/// `next_before` walks every hit once, newest first, across rooms.
async fn pages_walk_every_hit_once(server: Server) {
    let (ann, bob, carl) = (
        server.register("Ann").await,
        server.register("Bob").await,
        server.register("Carl").await,
    );
    let rooms = [
        server.room(&ann, &bob).await,
        server.room(&ann, &carl).await,
    ];
    for i in 0..13 {
        send(&server, &ann, &rooms[i % 2], &format!("note {i}")).await;
    }
    send(&server, &ann, &rooms[0], "unrelated").await;
    let mut seen: Vec<String> = Vec::new();
    let mut times: Vec<String> = Vec::new();
    let mut before: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut params = vec![("q", "note"), ("limit", "5")];
        if let Some(before) = &before {
            params.push(("before", before));
        }
        let (status, body) = search(&server, &ann, &params).await;
        assert_eq!(status, 200, "{body}");
        pages += 1;
        for hit in hits(&body) {
            seen.push(hit["message"].as_str().unwrap().to_owned());
            times.push(hit["timestamp"].as_str().unwrap().to_owned());
        }
        match body.get("next_before").and_then(Value::as_str) {
            Some(next) => before = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let mut expected: Vec<String> = (0..13).map(|i| format!("note {i}")).collect();
    let mut sorted = seen.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "every hit once");
    assert!(
        times.windows(2).all(|pair| pair[0] >= pair[1]),
        "newest first"
    );
}

/// `around=SEQ` is the page with that message, about half newer; the old paging is intact.
async fn around_opens_the_page_at_a_message(server: Server) {
    let (ann, bob, eve) = (
        server.register("Ann").await,
        server.register("Bob").await,
        server.register("Eve").await,
    );
    let room = server.room(&ann, &bob).await;
    for i in 1..=40 {
        send(&server, &ann, &room, &format!("m{i}")).await;
    }
    let path = |query: &str| format!("/api/messages/{room}?{query}");
    let (status, page) = server
        .get(&path("around=20&limit=11"), Some(&bob.token))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(seqs(&page), (15..=25).rev().collect::<Vec<_>>());
    let (_, page) = server
        .get(&path("around=39&limit=11"), Some(&bob.token))
        .await;
    assert_eq!(seqs(&page), (30..=40).rev().collect::<Vec<_>>());
    let (_, page) = server
        .get(&path("around=2&limit=11"), Some(&bob.token))
        .await;
    assert_eq!(seqs(&page), (1..=11).rev().collect::<Vec<_>>());
    // Paging on from the oldest of the window works like any history page.
    let (_, around) = server
        .get(&path("around=20&limit=11"), Some(&bob.token))
        .await;
    let oldest = around.as_array().unwrap().last().unwrap()["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, older) = server
        .get(&path(&format!("before={oldest}&limit=3")), Some(&bob.token))
        .await;
    assert_eq!(seqs(&older), [14, 13, 12]);
    let (_, newest) = server.get(&path("limit=2"), Some(&bob.token)).await;
    assert_eq!(seqs(&newest), [40, 39]);

    for (query, status) in [
        (format!("around=3&before={oldest}"), 422),
        ("around=0".to_owned(), 422),
        ("around=x".to_owned(), 422),
    ] {
        let (got, body) = server.get(&path(&query), Some(&bob.token)).await;
        assert_eq!(got, status, "{query}: {body}");
    }
    let (status, _) = server.get(&path("around=3"), Some(&eve.token)).await;
    assert_eq!(status, 403);
}

async fn on_sqlite() -> Server {
    start_on(Arc::new(SqliteStore::open_temp().unwrap()) as Arc<dyn Store>).await
}

/// A server on a fresh database of the test MongoDB, or `None` (skipped) without one.
async fn on_mongo() -> Option<Server> {
    let url = mongo_url()?;
    let store = MongoStore::connect(&url, &unique_name("chat_search"))
        .await
        .unwrap_or_else(|error| panic!("cannot connect to {url}: {error}"));
    Some(start_on(Arc::new(store) as Arc<dyn Store>).await)
}

macro_rules! on_each_store {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    super::$check(super::on_sqlite().await).await;
                }
            )*
        }
        mod mongo {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    if let Some(server) = super::on_mongo().await {
                        super::$check(server).await;
                    }
                }
            )*
        }
    };
}

on_each_store!(
    hits_carry_the_message_and_a_snippet,
    non_members_never_find_other_rooms,
    leaving_a_group_stops_matching,
    pages_walk_every_hit_once,
    around_opens_the_page_at_a_message,
);

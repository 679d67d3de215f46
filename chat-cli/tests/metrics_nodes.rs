//! The bus and store metrics of two `chat serve` nodes sharing MongoDB (FerretDB) and Redis:
//! what one node publishes the other relays, with its lag, and the Mongo store times its
//! appends. `/metrics` is on each node's main port (no `--metrics-bind`).

use std::time::Duration;

use chat_testkit::*;
use serde_json::json;

/// The `chat` binary cargo built for these tests.
const CHAT: &str = env!("CARGO_BIN_EXE_chat");

/// The sum of the samples of `name` in `scrape` whose labels contain `labels`.
fn value(scrape: &str, name: &str, labels: &str) -> f64 {
    scrape
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter(|(series, _)| {
            let (sample, rest) = series.split_once('{').unwrap_or((series, ""));
            sample == name && rest.contains(labels)
        })
        .map(|(_, value)| value.parse::<f64>().unwrap())
        .sum()
}

async fn scrape(node: &Node) -> String {
    let response = node.http.get(node.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_node_publishes_what_the_other_relays_and_mongo_times_its_appends() {
    let (Some(mongo), Some(redis)) = (mongo_url(), redis_url()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let flags = vec![
        "--mongo-url".into(),
        mongo_url_with_db(&mongo, &unique_name("chat_metrics")),
        "--redis-url".into(),
        redis,
        "--redis-prefix".into(),
        format!("{}:", unique_name("t")),
    ];
    let one = Node::start(CHAT, &dir.path().join("one"), &flags).await;
    let two = Node::start(CHAT, &dir.path().join("two"), &flags).await;
    let (ann, bob) = (one.register("Ann").await, two.register("Bob").await);
    let room = one.room(&ann, &bob).await;
    let mut ann_socket = one.connect(&ann).await;
    let mut bob_socket = two.connect(&bob).await;
    let (one_before, two_before) = (scrape(&one).await, scrape(&two).await);

    for n in 0..5 {
        let frame = json!({"room_id": room, "message": format!("m{n}")});
        send_frame(&mut ann_socket, frame).await;
        let got = next_of(&mut bob_socket, "message", Duration::from_secs(10))
            .await
            .expect("cross-node delivery");
        assert_eq!(got["message"], format!("m{n}"));
    }
    let (one_after, two_after) = (scrape(&one).await, scrape(&two).await);
    let grew = |before: &str, after: &str, name: &str, labels: &str| {
        value(after, name, labels) - value(before, name, labels)
    };
    let redis = "bus=\"redis\"";
    assert_eq!(
        grew(&one_before, &one_after, "chat_messages_accepted_total", ""),
        5.0
    );
    assert!(grew(&one_before, &one_after, "chat_bus_published_total", redis) >= 5.0);
    assert!(grew(&two_before, &two_after, "chat_bus_relayed_total", redis) >= 5.0);
    assert!(
        grew(
            &two_before,
            &two_after,
            "chat_bus_relay_lag_seconds_count",
            redis
        ) >= 5.0
    );
    assert!(
        grew(
            &one_before,
            &one_after,
            "chat_store_commit_seconds_count",
            "store=\"mongo\""
        ) >= 5.0
    );
    assert_eq!(value(&two_after, "chat_users_online", ""), 1.0);
}

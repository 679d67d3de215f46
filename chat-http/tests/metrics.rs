//! `GET /metrics` after real traffic: the counters move by exactly what the traffic did.
//!
//! The recorder is one per process, so this file holds one test and compares scrapes taken
//! before and after each burst of traffic.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chat_core::engine::AttemptLimits;
use chat_core::limits::AttemptQuota;
use chat_core::{Engine, EngineConfig, TokenKeys};
use chat_http::{AppState, Endpoints, HttpConfig, Metrics};
use chat_store_sqlite::SqliteStore;
use common::*;
use serde_json::json;
use tokio::net::TcpListener;

/// One scrape: every sample by its name and labels.
struct Scrape(Vec<(String, HashMap<String, String>, f64)>);

impl Scrape {
    async fn take(http: &reqwest::Client, url: &str) -> Scrape {
        let response = http.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(content_type.starts_with("text/plain"), "{content_type}");
        Scrape::parse(&response.text().await.unwrap())
    }

    fn parse(text: &str) -> Scrape {
        let mut samples = Vec::new();
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let (name, labels) = match series.split_once('{') {
                Some((name, labels)) => (name, labels.trim_end_matches('}')),
                None => (series, ""),
            };
            let labels = labels
                .split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(key, value)| (key.to_owned(), value.trim_matches('"').to_owned()))
                .collect();
            samples.push((name.to_owned(), labels, value.parse().unwrap()));
        }
        Scrape(samples)
    }

    /// The sum of the samples of `name` that carry all of `labels` (0 when none do).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|(sample, have, _)| {
                sample == name
                    && labels
                        .iter()
                        .all(|(key, value)| have.get(*key).map(String::as_str) == Some(*value))
            })
            .map(|(_, _, value)| value)
            .sum()
    }

    /// Whether the scrape has a sample of `name` at all.
    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(sample, _, _)| sample == name)
    }

    /// How much `name` grew since `before`.
    fn delta(&self, before: &Scrape, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.value(name, labels) - before.value(name, labels)
    }
}

#[tokio::test]
async fn counters_move_by_what_the_traffic_did() {
    let config = EngineConfig {
        max_sockets_per_user: 1,
        attempts: AttemptLimits {
            login_per_account: AttemptQuota {
                per_minute: 1,
                burst: 1,
            },
            ..AttemptLimits::default()
        },
        ..EngineConfig::default()
    };
    let engine = Engine::builder(
        Arc::new(SqliteStore::open_temp().unwrap()),
        TokenKeys::from_secret(b"test"),
    )
    .config(config)
    .build();
    let state = AppState::new(engine, HttpConfig::default());
    let main = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let metrics_port = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let server = Client::new(main.local_addr().unwrap());
    let scrape_url = format!("http://{}/metrics", metrics_port.local_addr().unwrap());
    let endpoints = Endpoints {
        metrics: Some(Metrics::install()),
        metrics_listener: Some(metrics_port),
        ..Endpoints::plain(main)
    };
    tokio::spawn(chat_http::serve_endpoints(endpoints, state));
    let http = reqwest::Client::new();

    let start = Scrape::take(&http, &scrape_url).await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let mut ann_socket = server.connect(&ann).await;
    let mut bob_socket = server.connect(&bob).await;
    let refused = server
        .refused(server.ws_url(&format!("/ws/{}?token={}", ann.id, ann.token)))
        .await;
    assert_eq!(refused, 429);
    for _ in 0..2 {
        let wrong = json!({"email": ann.email, "password": "wrong password"});
        server.post("/api/login", None, wrong).await;
    }
    assert!(
        next_of(&mut ann_socket, "presence", Duration::from_secs(5))
            .await
            .is_some(),
        "Ann hears Bob come online"
    );
    let connected = Scrape::take(&http, &scrape_url).await;
    let http_requests = |route, method, status| {
        connected.delta(
            &start,
            "chat_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
    };
    assert_eq!(http_requests("/api/register", "POST", "200"), 2.0);
    assert_eq!(http_requests("/api/chats", "POST", "200"), 1.0);
    assert_eq!(http_requests("/ws/{user_id}", "GET", "101"), 2.0);
    assert_eq!(http_requests("/ws/{user_id}", "GET", "429"), 1.0);
    assert_eq!(http_requests("/api/login", "POST", "401"), 1.0);
    assert_eq!(http_requests("/api/login", "POST", "429"), 1.0);
    let hits = |limit| connected.delta(&start, "chat_rate_limit_hits_total", &[("limit", limit)]);
    assert_eq!(hits("sockets"), 1.0);
    assert_eq!(hits("login_account"), 1.0);
    assert_eq!(connected.value("chat_sockets_open", &[]), 2.0);
    assert_eq!(connected.value("chat_users_online", &[]), 2.0);
    assert!(connected.value("chat_connections_open", &[]) >= 2.0);
    let sqlite = [("store", "sqlite")];
    assert!(connected.delta(&start, "chat_store_commit_seconds_count", &sqlite) >= 3.0);
    assert!(
        connected.delta(&start, "chat_scheduling_delay_seconds_count", &[]) >= 1.0,
        "the scheduling monitor ticks every 10 ms"
    );
    assert!(
        connected.has("chat_ready_queue_tasks"),
        "the scheduling monitor reports the runtime's global queue"
    );
    assert!(
        connected.delta(&start, "chat_ready_queue_wait_seconds_count", &[]) >= 1.0,
        "the scheduling monitor's probes go through the global queue"
    );

    for (n, client_id) in ["a", "b", "c", "c"].into_iter().enumerate() {
        let text = format!("message {n}");
        let frame = json!({"room_id": room, "message": text, "client_id": client_id});
        send_frame(&mut ann_socket, frame).await;
    }
    send_frame(&mut ann_socket, json!({"room_id": room, "message": ""})).await;
    let stranger_room = chat_core::RoomId::generate().to_string();
    send_frame(
        &mut ann_socket,
        json!({"room_id": stranger_room, "message": "hi"}),
    )
    .await;
    for n in 0..3 {
        assert_eq!(
            next_message(&mut bob_socket).await["message"],
            format!("message {n}")
        );
    }
    let mut echoes = 0;
    let mut errors = 0;
    while echoes < 4 || errors < 2 {
        let event = next_message(&mut ann_socket).await;
        match event["type"].as_str() {
            Some("message") => echoes += 1,
            Some("error") => errors += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    let sent = Scrape::take(&http, &scrape_url).await;
    let delta = |name, labels: &[(&str, &str)]| sent.delta(&connected, name, labels);
    assert_eq!(delta("chat_messages_accepted_total", &[]), 3.0);
    assert_eq!(delta("chat_messages_duplicate_total", &[]), 1.0);
    assert_eq!(
        delta("chat_messages_refused_total", &[("reason", "invalid")]),
        1.0
    );
    assert_eq!(delta("chat_messages_refused_total", &[]), 2.0);
    assert_eq!(
        delta("chat_deliveries_total", &[]),
        7.0,
        "3 messages × 2 sockets and the duplicate's echo"
    );
    assert_eq!(
        delta("chat_send_to_deliver_seconds_count", &[]),
        7.0,
        "every delivery written to a socket"
    );
    assert_eq!(delta("chat_store_group_commit_size_sum", &sqlite), 4.0);
    assert_eq!(delta("chat_socket_overflow_closes_total", &[]), 0.0);

    futures_util::SinkExt::close(&mut bob_socket).await.unwrap();
    let mut closed = false;
    for _ in 0..50 {
        let now = Scrape::take(&http, &scrape_url).await;
        if now.value("chat_sockets_open", &[]) == 1.0 && now.value("chat_users_online", &[]) == 1.0
        {
            assert_eq!(
                now.delta(&sent, "chat_socket_closes_total", &[("reason", "gone")]),
                1.0
            );
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(closed, "the closed socket leaves the gauges");
    let mut checkpointed = false;
    for _ in 0..50 {
        let now = Scrape::take(&http, &scrape_url).await;
        let passive = [("store", "sqlite"), ("mode", "passive")];
        if now.delta(&start, "chat_store_checkpoint_seconds_count", &passive) >= 1.0 {
            checkpointed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        checkpointed,
        "the checkpointer times the checkpoints the commits set off"
    );
    let before_search = Scrape::take(&http, &scrape_url).await;
    let (status, found) = server.get("/api/search?q=message", Some(&ann.token)).await;
    assert_eq!(
        (status, found["hits"].as_array().map(Vec::len)),
        (200, Some(3))
    );
    let searched = Scrape::take(&http, &scrape_url).await;
    assert!(
        searched.delta(&before_search, "chat_store_index_seconds_count", &sqlite) >= 1.0,
        "a search has the indexer catch up, and the pass is timed"
    );
    let status = server.get("/metrics", None).await.0;
    assert_eq!(
        status, 404,
        "with --metrics-bind, the main port has no /metrics"
    );
}

/// Every metric the Grafana dashboard in `deploy/` queries is one the server records.
#[test]
fn the_dashboard_queries_only_metrics_the_server_records() {
    use chat_core::metrics as core;
    use chat_http::metrics as edge;
    let known = [
        core::MESSAGES_ACCEPTED,
        core::MESSAGES_DUPLICATE,
        core::MESSAGES_REFUSED,
        core::DELIVERIES,
        core::SOCKET_OVERFLOWS,
        core::FANOUT_GAPS,
        core::DELIVERY_LATENCY,
        core::USERS_ONLINE,
        core::RATE_LIMIT_HITS,
        core::STORE_COMMIT,
        core::STORE_GROUP_COMMIT,
        core::STORE_CHECKPOINT,
        core::STORE_INDEX,
        core::BUS_PUBLISHED,
        core::BUS_PUBLISH_DROPPED,
        core::BUS_RELAYED,
        core::BUS_RELAY_LAG,
        core::BUS_RECONNECTS,
        edge::HTTP_REQUESTS,
        edge::HTTP_DURATION,
        edge::SOCKETS_OPEN,
        edge::CONNECTIONS_OPEN,
        edge::SOCKET_CLOSES,
    ];
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../deploy/grafana/chat-dashboard.json"
    );
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut queried = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(start) = rest.find("chat_") {
                let name: String = rest[start..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[start + name.len()..];
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|suffix| name.strip_suffix(suffix))
                    .unwrap_or(&name)
                    .to_owned();
                queried.insert(base);
            }
        }
    }
    assert!(queried.len() >= 15, "{queried:?}");
    for name in &queried {
        assert!(known.contains(&name.as_str()), "{name} is not recorded");
    }
    for name in known {
        assert!(queried.contains(name), "{name} has no panel");
    }
}

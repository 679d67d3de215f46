//! `chat serve` as an operator runs it at the edge: HTTPS and WSS from `--tls-cert` and
//! `--tls-key`, a SIGHUP that reloads the certificate under an open socket, the
//! `--redirect-http` port, and `/metrics` on a `--metrics-bind` port of its own.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use chat_testkit::process::Process;
use chat_testkit::service::free_port;
use chat_testkit::*;
use serde_json::json;

/// The `chat` binary cargo built for these tests.
const CHAT: &str = env!("CARGO_BIN_EXE_chat");

/// How long the server may take to start, or to pick up a new certificate.
const PATIENCE: Duration = Duration::from_secs(30);

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_reloads_on_sighup_and_metrics_have_a_port_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let authority = Authority::new();
    let first = authority.issue(&cert, &key);
    let (main, redirect, metrics) = (
        loopback(free_port()),
        loopback(free_port()),
        loopback(free_port()),
    );
    let args = [
        "serve".to_owned(),
        "--bind".into(),
        main.to_string(),
        "--data-dir".into(),
        dir.path().join("data").display().to_string(),
        "--tls-cert".into(),
        cert.display().to_string(),
        "--tls-key".into(),
        key.display().to_string(),
        "--redirect-http".into(),
        redirect.to_string(),
        "--metrics-bind".into(),
        metrics.to_string(),
    ];
    let mut server =
        Process::new(CHAT, args.to_vec(), dir.path().join("server.log")).env("RUST_LOG", "info");
    server.start();
    let deadline = Instant::now() + PATIENCE;
    while tokio::net::TcpStream::connect(main).await.is_err() {
        server.assert_running();
        assert!(Instant::now() < deadline, "{}", server.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let client = authority.client(main);
    let (status, _, _) = client.request("GET", "/healthz", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(client.served_certificate().await, first);
    let (ann, bob) = (client.register("Ann").await, client.register("Bob").await);
    let (status, _, room) = client
        .request(
            "POST",
            "/api/chats",
            Some(&ann.token),
            Some(json!({"to_user_id": bob.id})),
        )
        .await;
    assert_eq!(status, 200, "{room}");
    let room = room["_id"].as_str().unwrap().to_owned();
    let mut socket = client.wss(&ann).await;
    send_and_echo(&mut socket, &room, "before SIGHUP").await;

    let second = authority.issue(&cert, &key);
    assert_eq!(
        std::process::Command::new("kill")
            .args(["-HUP", &server.pid().to_string()])
            .status()
            .unwrap()
            .code(),
        Some(0)
    );
    let deadline = Instant::now() + PATIENCE;
    while client.served_certificate().await != second {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    send_and_echo(&mut socket, &room, "after SIGHUP, same socket").await;
    assert!(server.log_text().contains("TLS certificate reloaded"));

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let moved = http
        .get(format!("http://{redirect}/api/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 308);
    assert_eq!(
        moved.headers()["location"],
        format!("https://127.0.0.1:{}/api/me", main.port()).as_str()
    );

    let scrape = http
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let lines: Vec<&str> = scrape.lines().collect();
    assert!(lines.contains(&"chat_sockets_open 1"), "{scrape}");
    assert!(
        lines.contains(&"chat_messages_accepted_total 2"),
        "{scrape}"
    );
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("chat_http_requests_total{")
                && line.contains("route=\"/api/register\"")
                && line.contains("status=\"200\"")
                && line.ends_with(" 2")),
        "{scrape}"
    );
    let (status, _, _) = client.request("GET", "/metrics", None, None).await;
    assert_eq!(status, 404, "metrics are not on the main port");
}

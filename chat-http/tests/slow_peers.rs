//! Peers that hold the server's resources without playing along: a socket that stops reading,
//! partial request headers, idle keep-alive connections, floods of silent connections. Each
//! is cut off in bounded time while an honest client is still served.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use chat_core::EngineConfig;
use chat_core::limits::Quota;
use chat_http::HttpConfig;
use common::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;

/// A TCP connection from `source` with a small receive buffer, so a peer that stops reading
/// blocks the server's writes soon.
async fn tcp_from(source: &str, server: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.bind(format!("{source}:0").parse().unwrap()).unwrap();
    socket.connect(server).await.unwrap()
}

/// Opens a socket for `user` that never reads after its handshake.
async fn stalled_socket(server: &Server, user: &TestUser) -> WebSocketStream<TcpStream> {
    let stream = tcp_from("127.0.0.1", server.addr).await;
    let url = server.ws_url(&format!("/ws/{}?token={}", user.id, user.token));
    tokio_tungstenite::client_async(url, stream)
        .await
        .unwrap()
        .0
}

/// Sends `count` large messages from `from` into `room` over REST.
async fn flood(server: &Server, from: &TestUser, room: &str, count: usize) {
    let text = "z".repeat(16 * 1024);
    for _ in 0..count {
        let (status, body) = server
            .post(
                &format!("/api/messages/{room}"),
                Some(&from.token),
                json!({ "message": text }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
}

/// Whether `user` can open a socket (their only slot is free) before `within` passes.
async fn slot_freed_within(server: &Server, user: &TestUser, within: Duration) -> bool {
    let url = server.ws_url(&format!("/ws/{}?token={}", user.id, user.token));
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if tokio_tungstenite::connect_async(url.clone()).await.is_ok() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

fn one_socket_each(socket_queue: usize) -> EngineConfig {
    EngineConfig {
        max_sockets_per_user: 1,
        socket_queue,
        quota: Quota {
            per_second: 100_000,
            burst: 100_000,
        },
        ..EngineConfig::default()
    }
}

#[tokio::test]
async fn a_socket_whose_peer_stops_reading_is_dropped_and_uncounted_whatever_notices_first() {
    let long = Duration::from_secs(600);
    let cases = [
        (
            "write timeout",
            one_socket_each(10_000),
            HttpConfig {
                write_timeout: Duration::from_millis(800),
                ping_interval: long,
                idle_timeout: long,
                ..HttpConfig::default()
            },
        ),
        (
            "idle timeout",
            one_socket_each(10_000),
            HttpConfig {
                write_timeout: long,
                ping_interval: Duration::from_millis(300),
                idle_timeout: Duration::from_millis(900),
                ..HttpConfig::default()
            },
        ),
        (
            "overflow",
            one_socket_each(64),
            HttpConfig {
                write_timeout: long,
                ping_interval: long,
                idle_timeout: long,
                ..HttpConfig::default()
            },
        ),
    ];
    for (case, engine, http) in cases {
        let server = start_with(engine, http).await;
        let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
        let room = server.room(&ann, &bob).await;
        let _stalled = stalled_socket(&server, &bob).await;
        let mut freed = false;
        for _ in 0..20 {
            flood(&server, &ann, &room, 100).await;
            if slot_freed_within(&server, &bob, Duration::from_secs(2)).await {
                freed = true;
                break;
            }
        }
        assert!(freed, "{case}: the stalled socket still holds its slot");
    }
}

#[tokio::test]
async fn shutdown_completes_within_its_deadline_while_a_write_is_blocked() {
    let long = Duration::from_secs(600);
    let http = HttpConfig {
        write_timeout: long,
        ping_interval: long,
        idle_timeout: long,
        shutdown_timeout: Duration::from_secs(2),
        ..HttpConfig::default()
    };
    let server = start_with(one_socket_each(10_000), http).await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let _stalled = stalled_socket(&server, &bob).await;
    flood(&server, &ann, &room, 400).await;
    let started = Instant::now();
    server.state.shutdown.cancel();
    let served = tokio::time::timeout(Duration::from_secs(10), server.serving)
        .await
        .expect("shutdown did not complete");
    assert!(served.unwrap().is_ok());
    assert!(started.elapsed() < Duration::from_secs(8));
}

/// Reads until the server closes the connection; returns what it sent, or `None` if it
/// kept the connection open for `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(wait, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| received)
}

#[tokio::test]
async fn partial_headers_and_idle_keep_alive_connections_are_cut_after_the_header_timeout() {
    let http = HttpConfig {
        header_timeout: Duration::from_millis(500),
        ..HttpConfig::default()
    };
    let server = start_with(EngineConfig::default(), http).await;
    let mut partial = TcpStream::connect(server.addr).await.unwrap();
    partial
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    assert!(
        closed_within(&mut partial, Duration::from_secs(5))
            .await
            .is_some(),
        "partial headers were held"
    );

    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = closed_within(&mut idle, Duration::from_secs(5))
        .await
        .expect("an idle keep-alive connection was held");
    assert!(answered.starts_with(b"HTTP/1.1 200"));
}

#[tokio::test]
async fn silent_connections_beyond_the_caps_are_refused_while_an_honest_client_is_served() {
    let http = HttpConfig {
        header_timeout: Duration::from_secs(60),
        max_connections_per_ip: 20,
        max_connections: 30,
        ..HttpConfig::default()
    };
    let server = start_with(EngineConfig::default(), http).await;
    let mut flood = Vec::new();
    for _ in 0..50 {
        flood.push(tcp_from("127.0.0.2", server.addr).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut refused = 0;
    for stream in &mut flood {
        if closed_within(stream, Duration::from_millis(10))
            .await
            .is_some()
        {
            refused += 1;
        }
    }
    assert_eq!(refused, 30, "the per-address cap did not hold");
    let (status, _) = server.get("/healthz", None).await;
    assert_eq!(status, 200);

    let mut beyond = Vec::new();
    for _ in 0..20 {
        beyond.push(tcp_from("127.0.0.3", server.addr).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut refused = 0;
    for stream in &mut beyond {
        if let Some(answer) = closed_within(stream, Duration::from_millis(10)).await {
            let answer = String::from_utf8_lossy(&answer);
            assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
            let body = answer.split("\r\n\r\n").nth(1).unwrap();
            let body: serde_json::Value = serde_json::from_str(body).expect("a JSON body");
            assert_eq!(body["code"], "busy");
            refused += 1;
        }
    }
    assert!(
        refused >= 10,
        "the total cap did not hold ({refused} refused)"
    );
}

#[tokio::test]
async fn upgraded_sockets_leave_the_per_address_cap_to_plain_http() {
    let http = HttpConfig {
        max_connections_per_ip: 3,
        ..HttpConfig::default()
    };
    let server = start_with(EngineConfig::default(), http).await;
    let ann = server.register("Ann").await;
    let mut sockets = Vec::new();
    for _ in 0..8 {
        sockets.push(server.connect(&ann).await);
    }
    let (status, _) = server.get("/healthz", None).await;
    assert_eq!(status, 200);
}

/// Whether `/healthz` answers 200 to a fresh connection from `source`.
async fn healthz_from(source: &str, server: SocketAddr) -> bool {
    let mut stream = tcp_from(source, server).await;
    let request = b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
    if stream.write_all(request).await.is_err() {
        return false;
    }
    closed_within(&mut stream, Duration::from_secs(2))
        .await
        .is_some_and(|answer| answer.starts_with(b"HTTP/1.1 200"))
}

#[tokio::test]
async fn a_client_that_stops_reading_its_response_is_cut_and_its_place_freed() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(web.path().join("index.html"), "<!doctype html>").unwrap();
    std::fs::write(web.path().join("big.bin"), vec![7u8; 16 * 1024 * 1024]).unwrap();
    let http = HttpConfig {
        web_dir: Some(web.path().to_owned()),
        max_connections_per_ip: 1,
        request_timeout: Duration::from_millis(500),
        write_timeout: Duration::from_millis(500),
        ..HttpConfig::default()
    };
    let server = start_with(EngineConfig::default(), http).await;
    let mut reader = tcp_from("127.0.0.5", server.addr).await;
    reader
        .write_all(b"GET /big.bin HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !healthz_from("127.0.0.5", server.addr).await,
        "the stalled download should hold the address's only place"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !healthz_from("127.0.0.5", server.addr).await {
        assert!(
            Instant::now() < deadline,
            "the stalled download was never cut"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

//! HTTPS and WSS in-process: a certificate made by rcgen, a real TLS client (hyper over
//! tokio-rustls) and a real WSS client (tokio-tungstenite over tokio-rustls), a reload that
//! changes the certificate of new handshakes without dropping open sockets, the plain-HTTP
//! redirect port, and the forwarded-proto trust of a server behind a proxy.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use chat_core::memory::MemoryStore;
use chat_core::{Engine, TokenKeys};
use chat_http::{AppState, Endpoints, HttpConfig, Tls};
use common::*;
use serde_json::json;
use tokio::net::TcpListener;

struct Files {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

fn files() -> Files {
    let dir = tempfile::tempdir().unwrap();
    Files {
        cert: dir.path().join("cert.pem"),
        key: dir.path().join("key.pem"),
        _dir: dir,
    }
}

async fn start_tls(tls: Tls, http_config: HttpConfig) -> (AppState, SocketAddr, SocketAddr) {
    let engine = Engine::builder(
        Arc::new(MemoryStore::new()),
        TokenKeys::from_secret(b"test"),
    )
    .build();
    let state = AppState::new(engine, http_config);
    let main = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let redirect = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (main_addr, redirect_addr) = (main.local_addr().unwrap(), redirect.local_addr().unwrap());
    let endpoints = Endpoints {
        tls: Some(tls),
        redirect: Some(redirect),
        ..Endpoints::plain(main)
    };
    tokio::spawn(chat_http::serve_endpoints(endpoints, state.clone()));
    (state, main_addr, redirect_addr)
}

#[tokio::test]
async fn https_and_wss_work_and_a_reload_changes_new_handshakes_only() {
    let authority = Authority::new();
    let files = files();
    let first = authority.issue(&files.cert, &files.key);
    let tls = Tls::load(&files.cert, &files.key).unwrap();
    let (_state, addr, _) = start_tls(tls.clone(), HttpConfig::default()).await;
    let client = authority.client(addr);

    let (ann, bob) = (client.register("Ann").await, client.register("Bob").await);
    let (status, cookie, _) = client
        .request(
            "POST",
            "/api/login",
            None,
            Some(json!({"email": ann.email, "password": "password1"})),
        )
        .await;
    assert_eq!(status, 200);
    let cookie = cookie.expect("a session cookie");
    assert!(cookie.contains("Secure"), "{cookie}");
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
    assert_eq!(client.served_certificate().await, first);

    let mut socket = client.wss(&ann).await;
    send_and_echo(&mut socket, &room, "before the reload").await;

    let second = authority.issue(&files.cert, &files.key);
    assert_ne!(first, second);
    tls.reload().unwrap();
    assert_eq!(client.served_certificate().await, second);
    send_and_echo(&mut socket, &room, "after the reload, same socket").await;

    std::fs::write(&files.cert, "not a certificate").unwrap();
    assert!(tls.reload().is_err(), "a broken file is refused");
    assert_eq!(client.served_certificate().await, second);
    let (status, _, history) = client
        .request(
            "GET",
            &format!("/api/messages/{room}"),
            Some(&bob.token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(history.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_redirect_port_sends_plain_http_to_https() {
    let authority = Authority::new();
    let files = files();
    authority.issue(&files.cert, &files.key);
    let tls = Tls::load(&files.cert, &files.key).unwrap();
    let (_state, addr, redirect) = start_tls(tls, HttpConfig::default()).await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = http
        .get(format!("http://{redirect}/api/me?x=1"))
        .header("host", "localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 308);
    assert_eq!(
        response.headers()["location"],
        format!("https://localhost:{}/api/me?x=1", addr.port()).as_str()
    );
}

#[tokio::test]
async fn a_key_that_does_not_match_the_certificate_is_refused() {
    let authority = Authority::new();
    let (one, two) = (files(), files());
    authority.issue(&one.cert, &one.key);
    authority.issue(&two.cert, &two.key);
    let error = Tls::load(&one.cert, &two.key).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData, "{error}");
}

/// Registers over plain HTTP with these headers; the `set-cookie` of the answer.
async fn cookie_of(server: &Server, headers: &[(&str, &str)]) -> String {
    let email = format!("{}@proxy.test", unique_name("ann"));
    let mut request = server
        .http
        .post(server.url("/api/register"))
        .json(&json!({"email": email, "password": "password1", "name": "Ann"}));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200);
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned()
}

/// The headers of a request through a TLS-terminating proxy from a page of `origin`.
fn from(origin: &str) -> [(&str, &str); 3] {
    [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "chat.example"),
        ("origin", origin),
    ]
}

/// `POST /api/chats` by cookie with these headers; the status.
async fn cookie_write(
    server: &Server,
    user: &TestUser,
    to: &TestUser,
    headers: &[(&str, &str)],
) -> u16 {
    let mut request = server
        .http
        .post(server.url("/api/chats"))
        .header("cookie", format!("chat_token={}", user.token))
        .json(&json!({"to_user_id": to.id}));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn forwarded_proto_counts_for_cookies_and_origins_only_when_trusted() {
    let https = [
        ("x-forwarded-proto", "https"),
        ("x-forwarded-host", "chat.example"),
    ];
    let untrusted = start().await;
    assert!(!cookie_of(&untrusted, &https).await.contains("Secure"));
    let trusted = start_with(
        Default::default(),
        HttpConfig {
            trust_forwarded_proto: true,
            ..HttpConfig::default()
        },
    )
    .await;
    assert!(cookie_of(&trusted, &https).await.contains("Secure"));
    assert!(!cookie_of(&trusted, &[]).await.contains("Secure"));

    let (ann, bob) = (trusted.register("Ann").await, trusted.register("Bob").await);
    assert_eq!(
        cookie_write(&trusted, &ann, &bob, &from("https://chat.example")).await,
        200
    );
    assert_eq!(
        cookie_write(&trusted, &ann, &bob, &from("http://chat.example")).await,
        403
    );
    let own = format!("http://{}", trusted.addr);
    assert_eq!(cookie_write(&trusted, &ann, &bob, &from(&own)).await, 403);
    let (carl, dan) = (
        untrusted.register("Carl").await,
        untrusted.register("Dan").await,
    );
    assert_eq!(
        cookie_write(&untrusted, &carl, &dan, &from("https://chat.example")).await,
        403,
        "an untrusted X-Forwarded-Host names no origin"
    );
}

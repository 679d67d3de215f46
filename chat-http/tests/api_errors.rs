//! Every error under `/api` is JSON `{"detail","code"}`, whichever layer produced it: unknown
//! routes (even with the web client served), wrong methods, bodies too large (declared or
//! chunked) and headers too large.

mod common;

use chat_core::EngineConfig;
use chat_http::HttpConfig;
use common::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `head` then `body_chunks` on a raw connection while reading the answer, so an early
/// answer is read before the server closes on the rest of the body.
async fn raw(server: &Server, head: String, body_chunks: Vec<Vec<u8>>) -> (u16, Value) {
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        for chunk in body_chunks {
            writer.write_all(&chunk).await?;
        }
        std::io::Result::Ok(())
    });
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(Ok(n)) =
        tokio::time::timeout(std::time::Duration::from_secs(10), reader.read(&mut buf)).await
    {
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if complete(&answer) {
            break;
        }
    }
    writing.abort();
    let text = String::from_utf8_lossy(&answer);
    let status = text
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let body = serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, body)
}

/// Whether a response with a `content-length` has fully arrived.
fn complete(answer: &[u8]) -> bool {
    let text = String::from_utf8_lossy(answer);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return false;
    };
    head.lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .is_some_and(|length| body.len() >= length)
}

fn assert_json_error(status: u16, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status, expected_status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert!(body["detail"].is_string(), "{body}");
}

#[tokio::test]
async fn unknown_api_routes_are_json_404s_even_with_the_web_client_served() {
    let web = tempfile::tempdir().unwrap();
    std::fs::write(
        web.path().join("index.html"),
        "<!doctype html><title>chat</title>",
    )
    .unwrap();
    let http = HttpConfig {
        web_dir: Some(web.path().to_owned()),
        ..HttpConfig::default()
    };
    let server = start_with(EngineConfig::default(), http).await;
    for path in ["/api/nope", "/api", "/api/messages/a/b/c"] {
        let (status, body) = server.get(path, None).await;
        assert_json_error(status, &body, 404, "not_found");
    }
    let page = server
        .http
        .get(server.url("/rooms/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200, "the web client still gets its fallback");
}

#[tokio::test]
async fn wrong_methods_are_json_405s_with_allow() {
    let server = start().await;
    let response = server
        .http
        .delete(server.url("/api/me"))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("allow"));
    let (status, body) = read(response).await;
    assert_json_error(status, &body, 405, "method_not_allowed");
}

#[tokio::test]
async fn bodies_over_the_limit_are_json_413s_declared_or_chunked() {
    let server = start().await;
    let ten_mb = 10 * 1024 * 1024;
    let declared = format!(
        "POST /api/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {ten_mb}\r\n\r\n"
    );
    let (status, body) = raw(&server, declared, vec![vec![b' '; ten_mb]]).await;
    assert_json_error(status, &body, 413, "too_large");

    let chunked = "POST /api/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
                   transfer-encoding: chunked\r\n\r\n"
        .to_owned();
    let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
    chunk.extend(std::iter::repeat_n(b' ', 64 * 1024));
    chunk.extend_from_slice(b"\r\n");
    let (status, body) = raw(&server, chunked, vec![chunk; 160]).await;
    assert_json_error(status, &body, 413, "too_large");
}

#[tokio::test]
async fn headers_over_the_limit_are_json_431s() {
    let server = start().await;
    let big = format!(
        "GET /api/me HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(40 * 1024)
    );
    let (status, body) = raw(&server, big, Vec::new()).await;
    assert_json_error(status, &body, 431, "headers_too_large");

    let many: String = (0..150).map(|i| format!("x-h{i}: v\r\n")).collect();
    let many = format!("GET /api/me HTTP/1.1\r\nhost: x\r\n{many}\r\n");
    let (status, body) = raw(&server, many, Vec::new()).await;
    assert_json_error(status, &body, 431, "headers_too_large");
}

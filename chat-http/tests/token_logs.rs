//! Tokens never reach the logs, even at TRACE: a socket opened with `?token=` and REST calls
//! with a token in the query leave only `token=REDACTED` behind. Its own test binary, since
//! it installs the process-wide subscriber.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use common::*;
use serde_json::json;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;

/// Every log line written, kept in memory.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn token_query_values_never_appear_in_any_log_line() {
    let captured = Captured::default();
    // Everything at TRACE, except the test's own socket client logging its request.
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new("trace,tungstenite::handshake::client=off"))
        .with_span_events(FmtSpan::NEW | FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(captured.clone())
        .init();
    let server = start().await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let room = server.room(&ann, &bob).await;
    let mut socket = server.connect(&ann).await;
    send_frame(&mut socket, json!({"room_id": room, "message": "hi"})).await;
    next_message(&mut socket).await;
    for path in ["/api/me", "/api/nope", "/healthz"] {
        server
            .get(&format!("{path}?a=1&token={}", ann.token), None)
            .await;
    }
    let refused = server.ws_url(&format!("/ws/{}?token={}", bob.id, ann.token));
    server.refused(refused).await;
    drop(socket);
    server.state.shutdown.cancel();
    let _stopped = server.serving.await;

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("token=REDACTED"),
        "request spans were not logged"
    );
    for token in [&ann.token, &bob.token] {
        let leaked: Vec<&str> = logs
            .lines()
            .filter(|line| line.contains(token.as_str()))
            .collect();
        assert!(leaked.is_empty(), "token in logs: {leaked:#?}");
    }
}

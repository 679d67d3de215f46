//! Sending and awaiting the JSON frames of a test's WebSocket, with timeouts so that a missing
//! event fails the test instead of hanging it.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client socket.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long the `next_*` helpers wait for a frame.
const PATIENCE: Duration = Duration::from_secs(5);

/// Sends `frame` as one text frame.
pub async fn send_frame(socket: &mut Socket, frame: Value) {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .expect("send a frame");
}

/// The next JSON text frame, skipping pings; panics after 5 s.
pub async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("no frame within 5 s")
            .expect("socket ended")
            .expect("socket error");
        match frame {
            Message::Text(text) => return serde_json::from_str(&text).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// The next event that is not a presence event; panics after 5 s.
pub async fn next_message(socket: &mut Socket) -> Value {
    loop {
        let event = next_json(socket).await;
        if event["type"] != "presence" {
            return event;
        }
    }
}

/// The next event of `kind` ("message", "presence", "error"), skipping other kinds and
/// frames; `None` when none arrives within `wait` or the socket ends.
pub async fn next_of(socket: &mut Socket, kind: &str, wait: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let frame = tokio::time::timeout_at(deadline, socket.next())
            .await
            .ok()??;
        if let Ok(Message::Text(text)) = frame {
            let event: Value = serde_json::from_str(&text).unwrap();
            if event["type"] == kind {
                return Some(event);
            }
        }
    }
}

/// Asserts that nothing but presence events arrives for `wait`.
pub async fn assert_silent(socket: &mut Socket, wait: Duration) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, socket.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Text(text)))) => {
                let event: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(event["type"], "presence", "unexpected event {event}");
            }
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => {}
            Ok(other) => panic!("unexpected {other:?}"),
        }
    }
}

/// The close code the server ends the socket with; panics after 5 s.
pub async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        let frame = tokio::time::timeout(PATIENCE, socket.next())
            .await
            .expect("no close within 5 s");
        match frame {
            Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
            Some(Ok(Message::Close(None))) | None => panic!("closed without a code"),
            Some(Ok(_)) => continue,
            Some(Err(err)) => panic!("socket error before close: {err}"),
        }
    }
}

//! A real server on 127.0.0.1:0 over the in-memory backends, and small clients for it.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chat_core::memory::MemoryStore;
use chat_core::{Engine, EngineConfig, TokenKeys};
use chat_http::{AppState, HttpConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub state: AppState,
    pub http: reqwest::Client,
    /// The serving task; it ends once a shutdown completes.
    pub serving: tokio::task::JoinHandle<std::io::Result<()>>,
}

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A registered user.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: String,
    pub token: String,
    pub email: String,
    pub name: String,
}

pub async fn start() -> Server {
    start_with(EngineConfig::default(), HttpConfig::default()).await
}

pub async fn start_with(engine_config: EngineConfig, http_config: HttpConfig) -> Server {
    let engine = Engine::builder(
        Arc::new(MemoryStore::new()),
        TokenKeys::from_secret(b"test"),
    )
    .config(engine_config)
    .build();
    let state = AppState::new(engine, http_config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let serving = tokio::spawn(chat_http::serve(listener, state.clone()));
    Server {
        addr,
        state,
        http: reqwest::Client::new(),
        serving,
    }
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.header("authtoken", token);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn register(&self, name: &str) -> TestUser {
        let email = format!("{}-{}@example.com", name.to_lowercase(), rand_tag());
        let (status, body) = self
            .post(
                "/api/register",
                None,
                json!({"email": email, "password": "password123", "name": name}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        TestUser {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
            email,
            name: name.to_owned(),
        }
    }

    pub async fn room(&self, a: &TestUser, b: &TestUser) -> String {
        let (status, body) = self
            .post("/api/chats", Some(&a.token), json!({"to_user_id": b.id}))
            .await;
        assert_eq!(status, 200, "{body}");
        body["_id"].as_str().unwrap().to_owned()
    }

    pub async fn connect(&self, user: &TestUser) -> Socket {
        let url = self.ws_url(&format!("/ws/{}?token={}", user.id, user.token));
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        socket
    }

    /// The HTTP status a socket upgrade is refused with.
    pub async fn refused(&self, request: impl IntoClientRequest + Unpin) -> u16 {
        match tokio_tungstenite::connect_async(request).await {
            Ok(_) => panic!("upgrade unexpectedly accepted"),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                response.status().as_u16()
            }
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
}

pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text:?}"))
    };
    (status, body)
}

pub fn rand_tag() -> String {
    chat_core::UserId::generate().to_string()
}

pub async fn send_frame(socket: &mut Socket, frame: Value) {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON text frame, skipping pings; panics after 5 s.
pub async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
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

/// The next message event, skipping presence events.
pub async fn next_message(socket: &mut Socket) -> Value {
    loop {
        let event = next_json(socket).await;
        if event["type"] != "presence" {
            return event;
        }
    }
}

/// Asserts nothing but presence arrives for `wait`.
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

/// The close code the server ends the socket with.
pub async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), socket.next())
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

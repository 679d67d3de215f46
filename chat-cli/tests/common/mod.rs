//! Real `chat serve` processes for end-to-end tests, and small HTTP/WebSocket clients.

#![allow(dead_code)]

pub mod services;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The secret every node of one test shares, so tokens work on all of them.
pub const SECRET: &str = "end-to-end-test-secret";

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A fresh database name per test, so tests never see each other's data.
pub fn unique_name(prefix: &str) -> String {
    format!("{prefix}_{}", chat_core::UserId::generate())
}

/// An environment variable the test command always sets; `None` (and a loud line) when a
/// developer runs the test without it.
pub fn required_env(name: &str, test: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => Some(value),
        _ => {
            eprintln!("SKIPPED {test}: {name} is not set (scripts/test sets it)");
            None
        }
    }
}

/// `mongodb://host:port/` with the database name put in its path.
pub fn mongo_url_with_db(base: &str, database: &str) -> String {
    let base = base.trim_end_matches('/');
    format!("{base}/{database}")
}

/// One `chat serve` process.
pub struct Node {
    pub port: u16,
    pub data_dir: PathBuf,
    args: Vec<String>,
    /// `--jwt-secret`; `None` lets the server generate and keep one in the data dir.
    secret: Option<&'static str>,
    child: Option<Child>,
    log: PathBuf,
}

impl Node {
    /// Starts a node with `extra` flags and waits until it answers `/healthz`.
    pub async fn start(data_dir: &Path, extra: &[String]) -> Node {
        Node::start_with_secret(data_dir, extra, Some(SECRET)).await
    }

    /// Like [`Node::start`], but the server generates its token secret and keeps it in the
    /// data dir, as it does when no `--jwt-secret` is given.
    pub async fn start_with_own_secret(data_dir: &Path, extra: &[String]) -> Node {
        Node::start_with_secret(data_dir, extra, None).await
    }

    async fn start_with_secret(
        data_dir: &Path,
        extra: &[String],
        secret: Option<&'static str>,
    ) -> Node {
        let port = free_port();
        let mut node = Node {
            port,
            data_dir: data_dir.to_path_buf(),
            args: extra.to_vec(),
            secret,
            child: None,
            log: data_dir.join(format!("node-{port}.log")),
        };
        node.spawn().await;
        node
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the node is running").id()
    }

    async fn spawn(&mut self) {
        std::fs::create_dir_all(&self.data_dir).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_chat"));
        command
            .arg("serve")
            .arg("--bind")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data_dir);
        if let Some(secret) = self.secret {
            command.arg("--jwt-secret").arg(secret);
        }
        let child = command
            .args(&self.args)
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cannot start chat serve");
        self.child = Some(child);
        self.wait_healthy().await;
    }

    async fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = reqwest::Client::new();
        loop {
            if let Ok(response) = client.get(self.url("/healthz")).send().await
                && response.status().is_success()
            {
                return;
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("chat serve exited with {status}:\n{}", self.log_text());
            }
            assert!(
                Instant::now() < deadline,
                "chat serve never became healthy:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no flush, no goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM, then waits up to `wait` for the process to exit; its exit status, if it did.
    pub async fn terminate(&mut self, wait: Duration) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let pid = child.id().to_string();
        let signalled = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(signalled.success());
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        None
    }

    /// Starts the same node again on the same port and data.
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = reqwest::Client::new().post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = reqwest::Client::new().get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.unwrap()).await
    }

    pub async fn register(&self, name: &str) -> User {
        let email = format!(
            "{}-{}@example.com",
            name.to_lowercase(),
            chat_core::UserId::generate()
        );
        let (status, body) = self
            .post(
                "/api/register",
                None,
                json!({"email": email, "password": "password123", "name": name}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        User {
            id: body["user"]["id"].as_str().unwrap().to_owned(),
            token: body["token"].as_str().unwrap().to_owned(),
        }
    }

    pub async fn room(&self, a: &User, b: &User) -> String {
        let (status, body) = self
            .post("/api/chats", Some(&a.token), json!({"to_user_id": b.id}))
            .await;
        assert_eq!(status, 200, "{body}");
        body["_id"].as_str().unwrap().to_owned()
    }

    pub async fn connect(&self, user: &User) -> Socket {
        let url = format!(
            "ws://127.0.0.1:{}/ws/{}?token={}",
            self.port, user.id, user.token
        );
        tokio_tungstenite::connect_async(url).await.unwrap().0
    }

    /// Every message of `room`, oldest first, walking all pages.
    pub async fn history(&self, user: &User, room: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let path = match &before {
                None => format!("/api/messages/{room}?limit=100"),
                Some(cursor) => format!("/api/messages/{room}?limit=100&before={cursor}"),
            };
            let (status, page) = self.get(&path, Some(&user.token)).await;
            assert_eq!(status, 200, "{page}");
            let page = page.as_array().unwrap().clone();
            if page.is_empty() {
                break;
            }
            before = page.last().map(|m| m["_id"].as_str().unwrap().to_owned());
            all.extend(page);
        }
        all.reverse();
        all
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A registered user.
#[derive(Clone, Debug)]
pub struct User {
    pub id: String,
    pub token: String,
}

pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

pub async fn send_frame(socket: &mut Socket, frame: Value) {
    socket
        .send(Message::Text(frame.to_string().into()))
        .await
        .unwrap();
}

/// The next JSON event of `kind` ("message", "presence", "error"), skipping other kinds;
/// `None` when nothing arrives within `wait`.
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

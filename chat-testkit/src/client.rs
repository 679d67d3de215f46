//! The REST and WebSocket client of a running server, in-process or a `chat serve` process.
//! It speaks the Message App's API as a browser would; assertions on what it gets back stay
//! in the tests.

use std::net::SocketAddr;

use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::socket::Socket;
use crate::unique::rand_tag;

/// The password every [`Client::register`]ed user has.
pub const PASSWORD: &str = "password123";

/// A client of the server at one address.
#[derive(Clone, Debug)]
pub struct Client {
    /// Where the server listens.
    pub addr: SocketAddr,
    /// One connection pool for every request, without a cookie store.
    pub http: reqwest::Client,
}

/// A registered user, as the tests need it.
#[derive(Clone, Debug)]
pub struct TestUser {
    /// The user's id.
    pub id: String,
    /// A token for it, sent as `authtoken`, a bearer token or `?token=`.
    pub token: String,
    /// The (unique) email it registered with.
    pub email: String,
    /// Its display name.
    pub name: String,
}

impl Client {
    /// A client of the server at `addr`.
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            http: reqwest::Client::new(),
        }
    }

    /// `http://ADDR/PATH`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `ws://ADDR/PATH`.
    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{}", self.addr, path)
    }

    /// POSTs `body` as JSON, with `token` in the Message App's `authtoken` header; the status
    /// and the JSON body.
    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.header("authtoken", token);
        }
        read(request.send().await.expect("POST")).await
    }

    /// GETs `path` with `token` as a bearer token; the status and the JSON body.
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        read(request.send().await.expect("GET")).await
    }

    /// Registers `name` with a unique email and [`PASSWORD`]; panics unless it succeeds.
    pub async fn register(&self, name: &str) -> TestUser {
        let email = format!("{}-{}@example.com", name.to_lowercase(), rand_tag());
        let (status, body) = self
            .post(
                "/api/register",
                None,
                json!({"email": email, "password": PASSWORD, "name": name}),
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

    /// The id of the direct room of `a` and `b`, opened by `a`.
    pub async fn room(&self, a: &TestUser, b: &TestUser) -> String {
        let (status, body) = self
            .post("/api/chats", Some(&a.token), json!({"to_user_id": b.id}))
            .await;
        assert_eq!(status, 200, "{body}");
        body["_id"].as_str().unwrap().to_owned()
    }

    /// A socket of `user` on `/ws/{id}?token=`.
    pub async fn connect(&self, user: &TestUser) -> Socket {
        let url = self.ws_url(&format!("/ws/{}?token={}", user.id, user.token));
        let (socket, _) = tokio_tungstenite::connect_async(url)
            .await
            .expect("socket upgrade");
        socket
    }

    /// The HTTP status a socket upgrade is refused with; panics if it is accepted.
    pub async fn refused(&self, request: impl IntoClientRequest + Unpin) -> u16 {
        match tokio_tungstenite::connect_async(request).await {
            Ok(_) => panic!("upgrade unexpectedly accepted"),
            Err(WsError::Http(response)) => response.status().as_u16(),
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }

    /// Every message of `room`, oldest first, walking all pages of the history as `user`.
    pub async fn history(&self, user: &TestUser, room: &str) -> Vec<Value> {
        self.history_in_pages(user, room, 100).await
    }

    /// [`Client::history`] read `page_size` messages at a time, each page asked for with the
    /// `before` cursor of the one before; panics on a page that is not a 200.
    pub async fn history_in_pages(
        &self,
        user: &TestUser,
        room: &str,
        page_size: usize,
    ) -> Vec<Value> {
        let mut all = Vec::new();
        let mut before: Option<String> = None;
        loop {
            let path = match &before {
                None => format!("/api/messages/{room}?limit={page_size}"),
                Some(cursor) => format!("/api/messages/{room}?limit={page_size}&before={cursor}"),
            };
            let (status, page) = self.get(&path, Some(&user.token)).await;
            assert_eq!(status, 200, "{page}");
            let page = page.as_array().expect("a page is an array").clone();
            let Some(oldest) = page.last() else { break };
            before = Some(oldest["_id"].as_str().unwrap().to_owned());
            all.extend(page);
        }
        all.reverse();
        all
    }
}

/// The status and JSON body of a response (`Null` for an empty body); panics on a body that
/// is not JSON, as every answer of the API is.
pub async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().await.expect("response body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("body is not JSON: {text:?}"))
    };
    (status, body)
}

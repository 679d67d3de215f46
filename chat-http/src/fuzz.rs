//! Property tests of the REST bodies and queries: whatever a client sends, every route
//! answers with a status it documents and, for errors, the JSON error shape; never a panic
//! or a 500. The socket frame decoder has its own in `ws::protocol`.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

use crate::{AppState, HttpConfig, router};

/// Arbitrary JSON, nested a few levels, with the field names the API reads among the keys.
pub fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    let key = prop_oneof![
        Just("type".to_owned()),
        Just("room_id".to_owned()),
        Just("message".to_owned()),
        Just("client_id".to_owned()),
        Just("sender_id".to_owned()),
        Just("email".to_owned()),
        Just("password".to_owned()),
        Just("name".to_owned()),
        Just("to_user_id".to_owned()),
        "[a-z_]{0,8}",
    ];
    leaf.prop_recursive(3, 24, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A body: arbitrary bytes, or arbitrary JSON.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        json().prop_map(|value| value.to_string().into_bytes()),
    ]
}

/// One server with a signed-in user and a room, shared by every case.
struct Target {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
    token: String,
    room: String,
}

impl Target {
    fn new() -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (app, token, room) = runtime.block_on(async {
            let engine = chat_core::Engine::builder(
                std::sync::Arc::new(chat_core::memory::MemoryStore::new()),
                chat_core::TokenKeys::from_secret(b"fuzz"),
            )
            .build();
            let ann = engine
                .register("ann@example.com", "password123", "Ann")
                .await
                .unwrap();
            let bob = engine
                .register("bob@example.com", "password123", "Bob")
                .await
                .unwrap();
            let room = engine.open_direct(ann.user.id, bob.user.id).await.unwrap();
            let state = AppState::new(engine, HttpConfig::default());
            (router(state), ann.token, room.room.id.to_string())
        });
        Target {
            runtime,
            app,
            token,
            room,
        }
    }

    fn call(&self, method: &str, path: &str, body: Vec<u8>) -> (StatusCode, Vec<u8>) {
        let request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .header("authtoken", &self.token)
            .body(Body::from(body))
            .unwrap();
        self.runtime.block_on(async {
            let response = self.app.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            (status, bytes.to_vec())
        })
    }
}

fn assert_clean(status: StatusCode, body: &[u8]) {
    assert!(
        !status.is_server_error(),
        "{status}: {}",
        String::from_utf8_lossy(body)
    );
    if status.is_client_error() {
        let error: Value = serde_json::from_slice(body).expect("a JSON error body");
        assert!(
            error["detail"].is_string() && error["code"].is_string(),
            "{error}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rest_bodies_and_queries_always_get_a_clean_answer(
        route in 0usize..5,
        body in body(),
        query in "[a-z_=&%0-9]{0,40}",
    ) {
        thread_local! {
            static TARGET: Target = Target::new();
        }
        TARGET.with(|target| {
            let messages = format!("/api/messages/{}", target.room);
            let (method, path) = match route {
                0 => ("POST", "/api/register".to_owned()),
                1 => ("POST", "/api/login".to_owned()),
                2 => ("POST", "/api/chats".to_owned()),
                3 => ("POST", messages),
                _ => ("GET", format!("{messages}?{query}")),
            };
            let (status, answer) = target.call(method, &path, body);
            assert_clean(status, &answer);
        });
    }
}

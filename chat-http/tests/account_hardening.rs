//! Findings 1, 4, 8 and 11 of the abuse review, against a real server over HTTP: login
//! storms meet limits instead of eating memory, logout and password changes revoke, unknown
//! emails cost a password check, and names and ids have one safe form.

mod common;

use std::time::Duration;

use chat_core::EngineConfig;
use chat_core::auth::PoolLimits;
use chat_core::engine::AttemptLimits;
use chat_core::limits::AttemptQuota;
use chat_http::HttpConfig;
use common::{Server, TestUser, close_code, next_message, send_frame, start, start_with};
use futures_util::future::join_all;
use serde_json::json;

async fn login(server: &Server, email: &str, password: &str) -> (u16, Option<String>) {
    let response = server
        .http
        .post(server.url("/api/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().unwrap().to_owned());
    (response.status().as_u16(), retry_after)
}

/// Finding 1: one address trying passwords is refused with 429 and Retry-After after its
/// burst; attempts naming one account are limited from anywhere.
#[tokio::test]
async fn password_guessing_is_rate_limited_per_address_and_account() {
    let limits = AttemptLimits {
        login_per_address: AttemptQuota {
            per_minute: 6,
            burst: 5,
        },
        login_per_account: AttemptQuota {
            per_minute: 6,
            burst: 3,
        },
        register_per_address: AttemptQuota {
            per_minute: 6,
            burst: 2,
        },
        ..AttemptLimits::default()
    };
    let server = start_with(
        EngineConfig {
            attempts: limits,
            ..EngineConfig::default()
        },
        HttpConfig::default(),
    )
    .await;
    let ann = server.register("Ann").await;
    let bob = server.register("Bob").await;
    let (status, body) = server
        .post(
            "/api/register",
            None,
            json!({"email": "carl@example.com", "password": "password123", "name": "Carl"}),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (429, Some("rate_limited")));

    for _ in 0..3 {
        assert_eq!(login(&server, &ann.email, "wrong-password").await.0, 401);
    }
    let (status, retry_after) = login(&server, &ann.email, "password123").await;
    assert_eq!(status, 429, "the account's burst of 3 is spent");
    let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=10).contains(&seconds), "Retry-After {seconds}");

    assert_eq!(login(&server, &bob.email, "password123").await.0, 200);
    let (status, retry_after) = login(&server, &bob.email, "password123").await;
    assert_eq!(status, 429, "the address's burst of 5 is spent");
    assert!(retry_after.is_some());
}

async fn login_via(server: &Server, email: &str, forwarded_for: &str) -> u16 {
    server
        .http
        .post(server.url("/api/login"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"email": email, "password": "wrong-password"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Behind a trusted proxy each client address `X-Forwarded-For` names has its own login
/// limit; from a peer that is not trusted the header changes nothing.
#[tokio::test]
async fn login_limits_count_the_forwarded_client_only_behind_a_trusted_proxy() {
    let limits = AttemptLimits {
        login_per_address: AttemptQuota {
            per_minute: 1,
            burst: 2,
        },
        ..AttemptLimits::OFF
    };
    for trusted in [true, false] {
        let http = HttpConfig {
            trusted_proxies: if trusted {
                vec!["127.0.0.1/32".parse().unwrap(), "::1/128".parse().unwrap()]
            } else {
                Vec::new()
            },
            ..HttpConfig::default()
        };
        let config = EngineConfig {
            attempts: limits,
            ..EngineConfig::default()
        };
        let server = start_with(config, http).await;
        let email = "nobody@example.com";
        for _ in 0..2 {
            assert_eq!(login_via(&server, email, "198.51.100.1").await, 401);
        }
        assert_eq!(login_via(&server, email, "198.51.100.1").await, 429);
        let other_client = login_via(&server, email, "203.0.113.5, 198.51.100.2").await;
        let expected = if trusted { 401 } else { 429 };
        assert_eq!(other_client, expected, "trusted proxy: {trusted}");
    }
}

/// Finding 1: more concurrent password work than the pool takes is refused at once with
/// 503 and Retry-After, while an honest client's token requests go on.
#[tokio::test]
async fn a_login_storm_is_shed_with_503_not_queued_without_bound() {
    let server = start_with(
        EngineConfig {
            attempts: AttemptLimits::OFF,
            password_pool: PoolLimits {
                workers: 1,
                queue: 2,
                wait: Duration::from_secs(10),
            },
            ..EngineConfig::default()
        },
        HttpConfig::default(),
    )
    .await;
    let honest = server.register("Honest").await;
    let storm = join_all((0..24).map(|i| {
        let server = &server;
        async move { login(server, &format!("nobody{i}@example.com"), "password123").await }
    }));
    let me = async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        server.get("/api/me", Some(&honest.token)).await.0
    };
    let (results, me) = tokio::join!(storm, me);
    assert_eq!(me, 200);
    let shed: Vec<_> = results
        .iter()
        .filter(|(status, _)| *status == 503)
        .collect();
    assert!(
        shed.len() >= 10,
        "only {} of 24 shed: {results:?}",
        shed.len()
    );
    assert!(
        shed.iter()
            .all(|(_, retry_after)| retry_after.as_deref() == Some("1"))
    );
    assert!(
        results
            .iter()
            .all(|(status, _)| [401, 503].contains(status))
    );
}

/// Finding 8: a login for an unknown email does the same argon2 work as a wrong password.
#[tokio::test]
async fn unknown_emails_are_checked_against_a_dummy_hash() {
    let server = start().await;
    let ann = server.register("Ann").await;
    let engine = &server.state.engine;
    let before = engine.password_checks();
    assert_eq!(login(&server, &ann.email, "wrong-password").await.0, 401);
    assert_eq!(engine.password_checks(), before + 1);
    assert_eq!(
        login(&server, "nobody@example.com", "wrong-password")
            .await
            .0,
        401
    );
    assert_eq!(engine.password_checks(), before + 2);
}

async fn me(server: &Server, user: &TestUser) -> u16 {
    server.get("/api/me", Some(&user.token)).await.0
}

/// Finding 4: logout revokes exactly that session, and closes its sockets; other sessions of
/// the user keep working.
#[tokio::test]
async fn logout_revokes_the_session_and_closes_its_sockets() {
    let server = start().await;
    let ann = server.register("Ann").await;
    let (status, body) = server
        .post(
            "/api/login",
            None,
            json!({"email": ann.email, "password": "password123"}),
        )
        .await;
    assert_eq!(status, 200);
    let other_session = TestUser {
        token: body["token"].as_str().unwrap().to_owned(),
        ..ann.clone()
    };
    let mut socket = server.connect(&ann).await;
    let mut other_socket = server.connect(&other_session).await;

    let (status, _) = server
        .post("/api/logout", Some(&ann.token), json!({}))
        .await;
    assert_eq!(status, 204);
    assert_eq!(me(&server, &ann).await, 401);
    assert_eq!(close_code(&mut socket).await, 1008);
    assert_eq!(me(&server, &other_session).await, 200);
    let url = server.ws_url(&format!("/ws/{}?token={}", ann.id, ann.token));
    assert_eq!(server.refused(url).await, 401);

    let bob = server.register("Bob").await;
    let room = server.room(&bob, &ann).await;
    let (status, _) = server
        .post(
            &format!("/api/messages/{room}"),
            Some(&bob.token),
            json!({"message": "still here?"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        next_message(&mut other_socket).await["message"],
        "still here?"
    );
}

/// Finding 4: a cookie logout from a foreign origin is refused and revokes nothing.
#[tokio::test]
async fn a_cross_origin_cookie_logout_is_refused() {
    let server = start().await;
    let ann = server.register("Ann").await;
    let cookie = format!("chat_token={}", ann.token);
    let status = server
        .http
        .post(server.url("/api/logout"))
        .header("cookie", &cookie)
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 403);
    assert_eq!(me(&server, &ann).await, 200);
    let status = server
        .http
        .post(server.url("/api/logout"))
        .header("cookie", &cookie)
        .header("origin", format!("http://{}", server.addr))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    assert_eq!(me(&server, &ann).await, 401);
}

/// Finding 4: a password change revokes every session of the user and signs the caller in
/// again; only the new password logs in.
#[tokio::test]
async fn a_password_change_revokes_every_session() {
    let server = start().await;
    let ann = server.register("Ann").await;
    let (_, body) = server
        .post(
            "/api/login",
            None,
            json!({"email": ann.email, "password": "password123"}),
        )
        .await;
    let laptop = TestUser {
        token: body["token"].as_str().unwrap().to_owned(),
        ..ann.clone()
    };
    let mut laptop_socket = server.connect(&laptop).await;

    let (status, body) = server
        .post(
            "/api/me/password",
            Some(&ann.token),
            json!({"current_password": "wrong-password", "new_password": "new-password-1"}),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    assert_eq!(me(&server, &laptop).await, 200);

    let (status, body) = server
        .post(
            "/api/me/password",
            Some(&ann.token),
            json!({"current_password": "password123", "new_password": "new-password-1"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let fresh = TestUser {
        token: body["token"].as_str().unwrap().to_owned(),
        ..ann.clone()
    };
    assert_eq!(me(&server, &ann).await, 401);
    assert_eq!(me(&server, &laptop).await, 401);
    assert_eq!(me(&server, &fresh).await, 200);
    assert_eq!(close_code(&mut laptop_socket).await, 1008);
    assert_eq!(login(&server, &ann.email, "password123").await.0, 401);
    assert_eq!(login(&server, &ann.email, "new-password-1").await.0, 200);
}

/// Finding 11: control characters, bidi overrides and invisible names are refused, as is a
/// password of spaces.
#[tokio::test]
async fn names_and_passwords_must_be_visible_and_plain() {
    let server = start().await;
    for name in [
        "Ann\u{0}",
        "\u{1b}[2JAnn",
        "Ann\u{202E}nimda",
        "\u{2067}Ann",
        "\u{200B}\u{200D}",
        "\u{FEFF}",
    ] {
        let (status, body) = server
            .post(
                "/api/register",
                None,
                json!({"email": format!("{}@example.com", common::rand_tag()), "password": "password123", "name": name}),
            )
            .await;
        assert_eq!(status, 422, "{name:?}: {body}");
    }
    let (status, _) = server
        .post(
            "/api/register",
            None,
            json!({"email": "spaces@example.com", "password": "        ", "name": "Spaces"}),
        )
        .await;
    assert_eq!(status, 422);
}

/// Finding 11: a socket frame's `sender_id` is compared as an id, whatever its case, like the
/// socket path and the token's subject.
#[tokio::test]
async fn sender_ids_are_compared_in_canonical_form() {
    let server = start().await;
    let ann = server.register("Ann").await;
    let bob = server.register("Bob").await;
    let room = server.room(&ann, &bob).await;
    let mut socket = server.connect(&ann).await;
    send_frame(
        &mut socket,
        json!({"room_id": room, "message": "upper", "sender_id": ann.id.to_uppercase()}),
    )
    .await;
    assert_eq!(next_message(&mut socket).await["message"], "upper");
    send_frame(
        &mut socket,
        json!({"room_id": room, "message": "spoof", "sender_id": bob.id.to_uppercase()}),
    )
    .await;
    let refused = next_message(&mut socket).await;
    assert_eq!(
        (refused["type"].as_str(), refused["code"].as_str()),
        (Some("error"), Some("forbidden"))
    );
}

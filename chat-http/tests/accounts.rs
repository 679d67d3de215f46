//! Registration, login, tokens and user listings over real HTTP.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn register_login_and_me() {
    let server = start().await;
    let email = format!("Ann-{}@Example.com", rand_tag());
    let (status, body) = server
        .post(
            "/api/register",
            None,
            json!({"email": email, "password": "password123", "name": "Ann"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["user"]["email"], email.to_lowercase());
    assert!(body["message"].is_string());
    let (status, body) = server
        .post(
            "/api/login",
            None,
            json!({"email": email.to_uppercase(), "password": "password123"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap();
    let (status, me) = server.get("/api/me", Some(token)).await;
    assert_eq!(status, 200);
    assert_eq!(me["_id"], body["user"]["id"]);
    assert_eq!(me["name"], "Ann");
    assert!(me["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(me.get("password_hash").is_none() && me.get("password").is_none());
}

#[tokio::test]
async fn registration_rules_are_enforced() {
    let server = start().await;
    let ann = server.register("Ann").await;
    let cases = [
        (
            json!({"email": ann.email.to_uppercase(), "password": "password123", "name": "X"}),
            409,
        ),
        (
            json!({"email": "not-an-email", "password": "password123", "name": "X"}),
            422,
        ),
        (
            json!({"email": "short@example.com", "password": "1234567", "name": "X"}),
            422,
        ),
        (
            json!({"email": "noname@example.com", "password": "password123", "name": "  "}),
            422,
        ),
        (
            json!({"email": "long@example.com", "password": "password123", "name": "x".repeat(101)}),
            422,
        ),
        (
            json!({"email": {"$gt": ""}, "password": "password123", "name": "X"}),
            422,
        ),
        (json!({"email": "missing@example.com"}), 422),
    ];
    for (body, expected) in cases {
        let (status, error) = server.post("/api/register", None, body.clone()).await;
        assert_eq!(status, expected, "{body} -> {error}");
        assert!(
            error["detail"].is_string() && error["code"].is_string(),
            "{error}"
        );
    }
    let response = server
        .http
        .post(server.url("/api/register"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, error) = read(response).await;
    assert_eq!(status, 400);
    assert_eq!(error["code"], "malformed_json");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let server = start().await;
    let ann = server.register("Ann").await;
    let (wrong_status, wrong) = server
        .post(
            "/api/login",
            None,
            json!({"email": ann.email, "password": "nope-nope"}),
        )
        .await;
    let (unknown_status, unknown) = server
        .post(
            "/api/login",
            None,
            json!({"email": "ghost@example.com", "password": "nope-nope"}),
        )
        .await;
    assert_eq!((wrong_status, unknown_status), (401, 401));
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn bad_tokens_are_401_with_json() {
    let server = start().await;
    let ann = server.register("Ann").await;
    let foreign = {
        let signer = chat_core::auth::TokenSigner::new(
            chat_core::TokenKeys::from_secret(b"someone else"),
            std::time::Duration::from_secs(60),
        );
        signer.issue(ann.id.parse().unwrap(), 0).unwrap()
    };
    let expired = {
        let signer = chat_core::auth::TokenSigner::new(
            chat_core::TokenKeys::from_secret(b"test"),
            std::time::Duration::ZERO,
        );
        signer.issue(ann.id.parse().unwrap(), 0).unwrap()
    };
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    for token in [
        None,
        Some("garbage"),
        Some(foreign.as_str()),
        Some(expired.as_str()),
    ] {
        let (status, body) = server.get("/api/me", token).await;
        assert_eq!(status, 401, "{token:?}");
        assert_eq!(body["code"], "unauthenticated");
    }
    let (status, _) = server.get("/api/chats", Some(&ann.token)).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_session_cookie_authenticates_and_logout_clears_it() {
    let server = start().await;
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let email = format!("c-{}@example.com", rand_tag());
    let response = client
        .post(server.url("/api/register"))
        .json(&json!({"email": email, "password": "password123", "name": "Cookie"}))
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let (status, me) = read(client.get(server.url("/api/me")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(me["email"], email);
    let logout = client.post(server.url("/api/logout")).send().await.unwrap();
    assert_eq!(logout.status().as_u16(), 204);
    let (status, _) = read(client.get(server.url("/api/me")).send().await.unwrap()).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn all_users_excludes_the_caller_and_supports_search_and_limit() {
    let server = start().await;
    let ann = server.register("Ann").await;
    let bob = server.register("Bob").await;
    let _cid = server.register("Cid").await;
    let (status, users) = server.get("/api/all-users", Some(&ann.token)).await;
    assert_eq!(status, 200);
    let users = users.as_array().unwrap();
    assert_eq!(users.len(), 2);
    assert!(users.iter().all(|u| u["_id"] != ann.id.as_str()));
    assert!(users.iter().all(|u| u.get("password_hash").is_none()));
    assert!(users.iter().all(|u| u["online"] == false));
    let (_, found) = server.get("/api/all-users?q=bo", Some(&ann.token)).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(found[0]["_id"], bob.id.as_str());
    let (_, limited) = server.get("/api/all-users?limit=1", Some(&ann.token)).await;
    assert_eq!(limited.as_array().unwrap().len(), 1);
    let (status, error) = server
        .get("/api/all-users?limit=lots", Some(&ann.token))
        .await;
    assert_eq!(status, 422, "{error}");
}

#[tokio::test]
async fn health_and_readiness() {
    let server = start().await;
    let (status, body) = server.get("/healthz", None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let (status, body) = server.get("/readyz", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["store"], true);
}

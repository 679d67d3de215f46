//! Cookie-authenticated REST writes must come from the server's own origin or an allowed one
//! (`Origin`, else `Referer`); header-token clients and reads are not checked.

mod common;

use common::*;
use serde_json::{Value, json};

/// `POST /api/chats` as `user` to `to`, authenticated by `cookie` or by the `authtoken`
/// header, with these extra headers.
async fn open_room(
    server: &Server,
    user: &TestUser,
    to: &TestUser,
    by_cookie: bool,
    headers: &Headers<'_>,
) -> (u16, Value) {
    let mut request = server
        .http
        .post(server.url("/api/chats"))
        .json(&json!({ "to_user_id": to.id }));
    request = if by_cookie {
        request.header("cookie", format!("chat_token={}", user.token))
    } else {
        request.header("authtoken", &user.token)
    };
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    read(request.send().await.unwrap()).await
}

/// Extra request headers.
type Headers<'a> = Vec<(&'a str, String)>;

#[tokio::test]
async fn cookie_writes_from_foreign_origins_are_refused_and_others_pass() {
    let server = start().await;
    let (ann, bob) = (server.register("Ann").await, server.register("Bob").await);
    let own = format!("http://{}", server.addr);
    let evil = "http://localhost:6666".to_owned();
    let cases: [(bool, Headers, u16); 8] = [
        (true, vec![("origin", evil.clone())], 403),
        (true, vec![("referer", format!("{evil}/page"))], 403),
        (true, vec![("origin", "null".into())], 403),
        (true, vec![("origin", own.clone())], 200),
        (true, vec![("referer", format!("{own}/rooms/1"))], 200),
        (true, vec![("origin", "http://localhost:5173".into())], 200),
        (true, vec![], 200),
        (false, vec![("origin", evil.clone())], 200),
    ];
    for (by_cookie, headers, expected) in cases {
        let (status, body) = open_room(&server, &ann, &bob, by_cookie, &headers).await;
        assert_eq!(status, expected, "cookie={by_cookie} {headers:?}: {body}");
        if expected == 403 {
            assert_eq!(body["code"], "forbidden");
        }
    }
}

#[tokio::test]
async fn cookie_reads_pass_but_cookie_logouts_from_foreign_origins_are_refused() {
    let server = start().await;
    let ann = server.register("Ann").await;
    let evil = "http://evil.example";
    let cookie = format!("chat_token={}", ann.token);
    let me = server
        .http
        .get(server.url("/api/me"))
        .header("cookie", &cookie)
        .header("origin", evil)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    let logout = server
        .http
        .post(server.url("/api/logout"))
        .header("cookie", &cookie)
        .header("origin", evil)
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 403);
}

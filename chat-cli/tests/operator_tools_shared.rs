//! The operator commands against a deployment on MongoDB (FerretDB) and Redis: they open the
//! store from `--mongo-url` as `chat serve` does, and with `--redis-url` a disabled user's
//! sockets close at once on every node.

use chat_testkit::client::PASSWORD;
use chat_testkit::*;
use serde_json::json;

/// The `chat` binary cargo built for these tests.
const CHAT: &str = env!("CARGO_BIN_EXE_chat");

/// Runs `chat ARGS`, panicking unless it succeeds; its stdout.
async fn chat_ok(args: &[String]) -> String {
    let output = tokio::process::Command::new(CHAT)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "chat {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_over_redis_closes_sockets_on_every_node_at_once() {
    let (Some(mongo), Some(redis)) = (mongo_url(), redis_url()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let shared = vec![
        "--mongo-url".to_owned(),
        mongo_url_with_db(&mongo, &unique_name("chat_ops")),
        "--redis-url".to_owned(),
        redis,
        "--redis-prefix".to_owned(),
        format!("{}:", unique_name("t")),
    ];
    let one = Node::start(CHAT, &dir.path().join("one"), &shared).await;
    let two = Node::start(CHAT, &dir.path().join("two"), &shared).await;
    let ann = one.register("Ann").await;
    let mut on_one = one.connect(&ann).await;
    let mut on_two = two.connect(&ann).await;

    // Every command takes the store flags; the ones that end sessions also take Redis's.
    let tool = |args: &[&str], redis: bool| {
        let mut all: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        all.extend(shared[..if redis { 6 } else { 2 }].iter().cloned());
        all.extend([
            "--data-dir".to_owned(),
            dir.path().join("tool").display().to_string(),
        ]);
        all
    };
    let listed = chat_ok(&tool(&["user", "list"], false)).await;
    assert!(
        listed.contains(&format!("{}\tactive\t{}", ann.id, ann.email)),
        "{listed}"
    );

    chat_ok(&tool(&["user", "disable", &ann.email], true)).await;
    assert_eq!(close_code(&mut on_one).await, 1008, "closed within 5 s");
    assert_eq!(close_code(&mut on_two).await, 1008, "closed within 5 s");
    let login = json!({"email": ann.email, "password": PASSWORD});
    assert_eq!(two.post("/api/login", None, login.clone()).await.0, 403);

    chat_ok(&tool(&["user", "enable", &ann.email], false)).await;
    assert_eq!(one.post("/api/login", None, login).await.0, 200);
    let listed = chat_ok(&tool(&["user", "list"], false)).await;
    assert!(
        listed.contains(&format!("{}\tactive\t", ann.id)),
        "{listed}"
    );
}

//! The operator commands run as the real `chat` binary against the data dir of a running
//! `chat serve`: listing and showing users and rooms, disabling, enabling and deleting users
//! (with and without `--purge`), exporting a room, and backing up and restoring the database.

use std::path::Path;
use std::time::Duration;

use chat_testkit::client::PASSWORD;
use chat_testkit::*;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as Frame;

/// The `chat` binary cargo built for these tests.
const CHAT: &str = env!("CARGO_BIN_EXE_chat");

/// Runs `chat ARGS --data-dir DIR`; returns whether it succeeded, its stdout and its stderr.
async fn chat(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let output = tokio::process::Command::new(CHAT)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), stdout, stderr)
}

/// Like [`chat`], panicking unless it succeeds; its stdout.
async fn chat_ok(dir: &Path, args: &[&str]) -> String {
    let (ok, stdout, stderr) = chat(dir, args).await;
    assert!(ok, "chat {args:?} failed:\n{stdout}\n{stderr}");
    stdout
}

async fn login(node: &Node, user: &TestUser) -> u16 {
    let body = json!({"email": user.email, "password": PASSWORD});
    node.post("/api/login", None, body).await.0
}

async fn send(node: &Node, user: &TestUser, room: &str, text: &str) {
    let body = json!({"message": text, "client_id": text});
    let (status, answer) = node
        .post(&format!("/api/messages/{room}"), Some(&user.token), body)
        .await;
    assert_eq!(status, 201, "{answer}");
}

/// The close code of `socket`, waiting out one recheck period of the server (30 s) and more.
async fn closed_with(socket: &mut Socket) -> u16 {
    let wait = Duration::from_secs(50);
    loop {
        match tokio::time::timeout(wait, socket.next()).await {
            Ok(Some(Ok(Frame::Close(Some(frame))))) => return frame.code.into(),
            Ok(Some(Ok(_))) => continue,
            other => panic!("the socket did not close with a code: {other:?}"),
        }
    }
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_and_room_commands_manage_a_running_server() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(CHAT, dir.path(), &[]).await;
    let ann = node.register("Ann").await;
    let bob = node.register("Bob").await;
    let direct = node.room(&ann, &bob).await;
    let group = node.group(&ann, "Team", &[&bob]).await["_id"]
        .as_str()
        .unwrap()
        .to_owned();
    send(&node, &ann, &direct, "one").await;
    send(&node, &bob, &direct, "two").await;
    send(&node, &ann, &group, "hi team").await;

    let listed = chat_ok(dir.path(), &["user", "list"]).await;
    for user in [&ann, &bob] {
        let row = listed.lines().find(|line| line.contains(&user.email));
        let row = row.unwrap_or_else(|| panic!("{} not listed:\n{listed}", user.email));
        assert!(row.starts_with(&format!("{}\tactive\t", user.id)), "{row}");
    }
    let json = lines(&chat_ok(dir.path(), &["user", "list", "--json"]).await);
    assert_eq!(json.len(), 2);
    let shown: Value =
        serde_json::from_str(&chat_ok(dir.path(), &["user", "show", &ann.email]).await).unwrap();
    assert_eq!(shown["status"], "active");
    assert_eq!(shown["name"], "Ann");
    assert_eq!(shown["rooms"].as_array().unwrap().len(), 2);

    let rooms = chat_ok(dir.path(), &["room", "list"]).await;
    assert!(
        rooms.contains(&format!("{direct}\tdirect\t2\t2\t")),
        "{rooms}"
    );
    assert!(
        rooms.contains(&format!("{group}\tgroup\t2\t2\tTeam")),
        "{rooms}"
    );
    let room: Value =
        serde_json::from_str(&chat_ok(dir.path(), &["room", "show", &group]).await).unwrap();
    let names: Vec<&str> = room["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|member| member["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"Ann") && names.contains(&"Bob"), "{room}");

    let exported = lines(&chat_ok(dir.path(), &["export", "--room", &direct]).await);
    let texts: Vec<(u64, &str)> = exported
        .iter()
        .map(|m| (m["seq"].as_u64().unwrap(), m["text"].as_str().unwrap()))
        .collect();
    assert_eq!(texts, vec![(1, "one"), (2, "two")]);

    let mut socket = node.connect(&ann).await;
    chat_ok(dir.path(), &["user", "disable", &ann.email]).await;
    assert_eq!(login(&node, &ann).await, 403, "disabled");
    let (ok, _, stderr) = chat(dir.path(), &["token", "--user", &ann.email]).await;
    assert!(
        !ok && stderr.contains("is disabled"),
        "no tokens for it: {stderr}"
    );
    assert_eq!(
        closed_with(&mut socket).await,
        1008,
        "the open socket is closed"
    );
    chat_ok(dir.path(), &["user", "enable", &ann.id]).await;
    assert_eq!(login(&node, &ann).await, 200, "enabled again");

    chat_ok(dir.path(), &["user", "delete", &ann.email]).await;
    assert_eq!(login(&node, &ann).await, 401, "deleted");
    let shown: Value =
        serde_json::from_str(&chat_ok(dir.path(), &["user", "show", &ann.id]).await).unwrap();
    assert_eq!(shown["status"], "deleted");
    assert_eq!(shown["name"], "deleted user");
    assert!(!shown["email"].as_str().unwrap().contains("ann"));
    let history = node.history(&bob, &direct).await;
    assert_eq!(history[0]["message"], "one");
    assert_eq!(history[0]["sender_name"], "deleted user");
    let (status, body) = node
        .get(&format!("/api/rooms/{group}"), Some(&bob.token))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["member_count"], 1, "ann left the group: {body}");

    let cid = node.register("Cid").await;
    let with_cid = node.room(&cid, &bob).await;
    send(&node, &cid, &with_cid, "secret").await;
    send(&node, &bob, &with_cid, "reply").await;
    chat_ok(dir.path(), &["user", "delete", "--purge", &cid.email]).await;
    let history = node.history(&bob, &with_cid).await;
    let kept: Vec<(u64, &str)> = history
        .iter()
        .map(|m| (m["seq"].as_u64().unwrap(), m["message"].as_str().unwrap()))
        .collect();
    assert_eq!(kept, vec![(1, ""), (2, "reply")], "purged, seqs kept");

    let (ok, _, stderr) = chat(dir.path(), &["user", "show", "nobody@example.com"]).await;
    assert!(!ok && stderr.contains("no user"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_are_taken_while_serving_and_restored_only_when_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let copies = tempfile::tempdir().unwrap();
    let backup = copies.path().join("chat-backup.sqlite3");
    let backup_arg = backup.display().to_string();
    let mut node = Node::start(CHAT, dir.path(), &[]).await;
    let ann = node.register("Ann").await;
    chat_ok(dir.path(), &["backup", "--to", &backup_arg]).await;
    let bob = node.register("Bob").await;

    let (ok, _, stderr) = chat(dir.path(), &["restore", "--from", &backup_arg]).await;
    assert!(!ok, "a restore under a running server is refused");
    assert!(stderr.contains("is in use"), "{stderr}");
    assert_eq!(login(&node, &bob).await, 200, "nothing was restored");

    node.terminate(Duration::from_secs(15)).await.unwrap();
    chat_ok(dir.path(), &["restore", "--from", &backup_arg]).await;
    node.restart().await;
    assert_eq!(login(&node, &ann).await, 200, "in the backup");
    assert_eq!(login(&node, &bob).await, 401, "registered after the backup");

    let junk = copies.path().join("junk");
    std::fs::write(&junk, "not a database").unwrap();
    node.terminate(Duration::from_secs(15)).await.unwrap();
    let junk_arg = junk.display().to_string();
    let (ok, _, stderr) = chat(dir.path(), &["restore", "--from", &junk_arg]).await;
    assert!(!ok, "{stderr}");
    node.restart().await;
    assert_eq!(login(&node, &ann).await, 200, "the database is untouched");
}

//! `chat serve --config FILE`: every flag has a key, and the precedence is flag > `CHAT_*`
//! environment > file > default, as `--print-config` shows and a running server obeys.

use std::path::Path;
use std::process::Command;

use chat_testkit::*;
use serde_json::json;

/// The `chat` binary cargo built for these tests.
const CHAT: &str = env!("CARGO_BIN_EXE_chat");

const FILE: &str = r#"
bind = "127.0.0.1:1111"
max-message-bytes = 1000
rate-burst = 7
rate-per-second = 5
allowed-origins = ["https://a.example", "https://b.example"]
secure-cookies = true
jwt-secret = "from the file"
server-api-key = "operator key from the file"
max-connections = 500
"#;

/// `chat serve ARGS --print-config` with `env` set (and no other `CHAT_*` setting): its
/// lines, or its error output when it fails.
fn print_config(args: &[&str], env: &[(&str, &str)]) -> Result<Vec<String>, String> {
    let mut command = Command::new(CHAT);
    command.arg("serve").args(args).arg("--print-config");
    for (key, _) in std::env::vars() {
        if key.starts_with("CHAT_") && !key.starts_with("CHAT_TEST") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().copied());
    let output = command.output().unwrap();
    if output.status.success() {
        let text = String::from_utf8(output.stdout).unwrap();
        Ok(text.lines().map(str::to_owned).collect())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn write(dir: &Path, text: &str) -> String {
    let path = dir.join("chat.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn flags_beat_the_environment_which_beats_the_file_which_beats_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), FILE);
    let lines = print_config(
        &["--config", &file, "--max-message-bytes", "2000"],
        &[("CHAT_RATE_BURST", "9")],
    )
    .unwrap();
    for expected in [
        "max-message-bytes = 2000",
        "rate-burst = 9",
        "rate-per-second = 5",
        "bind = \"127.0.0.1:1111\"",
        "allowed-origins = [\"https://a.example\", \"https://b.example\"]",
        "secure-cookies = true",
        "max-connections = 500",
        "max-frame-bytes = 65536",
        "# jwt-secret = (set, hidden)",
        "# server-api-key = (set, hidden)",
    ] {
        assert!(
            lines.iter().any(|line| line == expected),
            "{expected} not in {lines:#?}"
        );
    }
    assert!(
        !lines.join("\n").contains("from the file"),
        "secrets stay hidden"
    );
    let by_env_key = print_config(&[], &[("CHAT_SERVER_API_KEY", "k")]).unwrap();
    assert!(
        by_env_key.contains(&"# server-api-key = (set, hidden)".to_owned()),
        "{by_env_key:#?}"
    );

    let by_env = print_config(&[], &[("CHAT_CONFIG", &file)]).unwrap();
    assert!(
        by_env.iter().any(|line| line == "rate-burst = 7"),
        "{by_env:#?}"
    );
    let none = print_config(&[], &[]).unwrap();
    assert!(
        none.iter().any(|line| line == "rate-burst = 120"),
        "{none:#?}"
    );
}

#[test]
fn every_flag_is_a_key_and_unknown_keys_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = print_config(&[], &[]).unwrap();
    let keys: Vec<&str> = defaults
        .iter()
        .map(|line| line.trim_start_matches("# ").split(" = ").next().unwrap())
        .collect();
    assert!(keys.len() > 30, "{keys:?}");
    let help = Command::new(CHAT)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for key in &keys {
        assert!(help.contains(&format!("--{key}")), "{key} is not a flag");
    }
    let file = write(dir.path(), "max-mesage-bytes = 10\n");
    let refused = print_config(&["--config", &file], &[]).unwrap_err();
    assert!(
        refused.contains("unknown key \"max-mesage-bytes\""),
        "{refused}"
    );
    let file = write(dir.path(), "max-message-bytes = \"lots\"\n");
    let refused = print_config(&["--config", &file], &[]).unwrap_err();
    assert!(refused.contains("max-message-bytes"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_runs_with_the_settings_of_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "max-message-bytes = 10\nlog-format = \"json\"\nserver-api-key = \"op-key-123\"\n",
    );
    let node = Node::start(CHAT, &dir.path().join("data"), &["--config".into(), file]).await;
    let ann = node.register("Ann").await;
    let bob = node.register("Bob").await;
    let room = node.room(&ann, &bob).await;
    let send = |text: &str| json!({"message": text});
    let path = format!("/api/messages/{room}");
    assert_eq!(
        node.post(&path, Some(&ann.token), send("short")).await.0,
        201
    );
    let long = node
        .post(&path, Some(&ann.token), send("longer than ten"))
        .await;
    assert_eq!(long.0, 422, "{}", long.1);
    let server_send = json!({"room_id": room, "text": "op note", "client_id": "op"});
    let refused = node
        .post("/api/server/messages", None, server_send.clone())
        .await;
    assert_eq!(refused.0, 401, "{}", refused.1);
    let sent = node
        .http
        .post(node.url("/api/server/messages"))
        .bearer_auth("op-key-123")
        .json(&server_send)
        .send()
        .await
        .unwrap();
    let (status, message) = read(sent).await;
    assert_eq!(
        (status, message["sender_name"].as_str()),
        (200, Some("System"))
    );
    let logs = node.log_text();
    assert!(logs.contains("\"level\":\"INFO\""), "JSON logs");
    assert!(!logs.contains("op-key-123"), "the key is never logged");
}

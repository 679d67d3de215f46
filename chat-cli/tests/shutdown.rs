//! `chat serve` stops on SIGTERM within `--shutdown-seconds` even while a socket's peer has
//! stopped reading, exits 0, and has flushed every acknowledged message.

mod common;

use std::time::Duration;

use common::*;
use serde_json::json;
use tokio::net::TcpSocket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_with_a_stalled_socket_exits_0_within_the_deadline_with_the_store_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let flags = [
        "--rate-burst",
        "100000",
        "--idle-seconds",
        "600",
        "--write-timeout-seconds",
        "600",
        "--shutdown-seconds",
        "2",
    ];
    let flags: Vec<String> = flags.iter().map(|flag| flag.to_string()).collect();
    let mut node = Node::start(dir.path(), &flags).await;
    let (ann, bob) = (node.register("Ann").await, node.register("Bob").await);
    let room = node.room(&ann, &bob).await;

    let tcp = TcpSocket::new_v4().unwrap();
    tcp.set_recv_buffer_size(4096).unwrap();
    let stream = tcp
        .connect(format!("127.0.0.1:{}", node.port).parse().unwrap())
        .await
        .unwrap();
    let url = format!(
        "ws://127.0.0.1:{}/ws/{}?token={}",
        node.port, bob.id, bob.token
    );
    let _stalled = tokio_tungstenite::client_async(url, stream).await.unwrap();
    let text = "z".repeat(16 * 1024);
    for i in 0..400 {
        let (status, body) = node
            .post(
                &format!("/api/messages/{room}"),
                Some(&ann.token),
                json!({ "message": text, "client_id": format!("c{i}") }),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }

    let status = node
        .terminate(Duration::from_secs(15))
        .await
        .expect("chat serve still running 15 s after SIGTERM");
    assert!(
        status.success(),
        "exit status {status}\n{}",
        node.log_text()
    );
    node.restart().await;
    assert_eq!(node.history(&bob, &room).await.len(), 400);
}

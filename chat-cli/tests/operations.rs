//! Operating `chat serve` on the embedded store: readiness that notices when writes fail, a
//! refusal to start over on an emptied database, owner-only files, the open-files limit and
//! the URL printed at start.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use rlimit::Resource;
use serde_json::{Value, json};

const DB: &str = "chat.sqlite3";

/// `/readyz` until it answers `status`, or the last answer after 15 s.
async fn readyz_until(node: &Node, status: u16) -> (u16, Value) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let answer = node.get("/readyz", None).await;
        if answer.0 == status || Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn register(node: &Node, email: &str) -> u16 {
    let body = json!({"email": email, "password": "password123", "name": "Ann"});
    node.post("/api/register", None, body).await.0
}

/// A file-size limit of 0 makes every write of the server to a regular file fail with EFBIG,
/// as a full disk or a read-only data dir would (and it binds root too, unlike permissions):
/// reads keep working, so only a real write shows that the node cannot serve.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_fails_while_the_store_cannot_write_and_recovers_after() {
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]).await;
    let (status, body) = node.get("/readyz", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["failing"], json!([]), "{body}");

    let pid = node.pid() as i32;
    let (mut soft, mut hard) = (0, 0);
    rlimit::prlimit(pid, Resource::FSIZE, None, Some((&mut soft, &mut hard))).unwrap();
    rlimit::prlimit(pid, Resource::FSIZE, Some((0, hard)), None).unwrap();

    let (status, body) = readyz_until(&node, 503).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "unavailable", "{body}");
    assert_eq!(body["failing"], json!(["store_write"]), "{body}");
    assert_eq!(body["checks"]["store_read"], true, "{body}");
    assert_eq!(body["checks"]["store_write"], false, "{body}");
    assert_eq!(
        register(&node, "full@example.com").await,
        503,
        "writes fail too"
    );

    rlimit::prlimit(pid, Resource::FSIZE, Some((soft, hard)), None).unwrap();
    let (status, body) = readyz_until(&node, 200).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["store_write"], true, "{body}");
    assert_eq!(register(&node, "after@example.com").await, 200);
}

/// Runs `chat serve` on `data_dir` and waits (up to 30 s) for it to exit by itself.
fn run_until_exit(data_dir: &Path) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_chat"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    (output.status.code(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emptied_database_in_a_used_data_dir_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut node = Node::start_with_own_secret(&data, &[]).await;
    assert_eq!(register(&node, "ann@example.com").await, 200);
    node.kill();
    std::fs::File::create(data.join(DB)).unwrap();
    for companion in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(data.join(format!("{DB}{companion}")));
    }

    let (code, output) = run_until_exit(&data);
    assert_eq!(code, Some(1), "{output}");
    assert!(output.contains("is missing or empty"), "{output}");
    assert!(output.contains("--allow-empty-store"), "{output}");
    assert_eq!(
        std::fs::metadata(data.join(DB)).unwrap().len(),
        0,
        "a refused start leaves the file as it was"
    );
    std::fs::remove_file(data.join(DB)).unwrap();
    let (code, output) = run_until_exit(&data);
    assert_eq!(code, Some(1), "a deleted database is refused too: {output}");

    let node = Node::start_with_own_secret(&data, &["--allow-empty-store".into()]).await;
    let login = json!({"email": "ann@example.com", "password": "password123"});
    assert_eq!(node.post("/api/login", None, login).await.0, 401);
    assert_eq!(register(&node, "bob@example.com").await, 200);
    drop(node);
    let node = Node::start_with_own_secret(&data, &[]).await;
    let login = json!({"email": "bob@example.com", "password": "password123"});
    assert_eq!(
        node.post("/api/login", None, login).await.0,
        200,
        "the new store is the data dir's store from now on"
    );
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_dir_is_0700_and_the_database_files_0600() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let files = [DB, "chat.sqlite3-wal", "chat.sqlite3-shm", "jwt-secret"];
    let mut node = Node::start_with_own_secret(&data, &[]).await;
    assert_eq!(register(&node, "ann@example.com").await, 200);
    let modes = |data: &Path| {
        std::iter::once(("data dir", mode(data)))
            .chain(files.iter().map(|file| (*file, mode(&data.join(file)))))
            .collect::<Vec<_>>()
    };
    let expected = vec![
        ("data dir", 0o700),
        (DB, 0o600),
        ("chat.sqlite3-wal", 0o600),
        ("chat.sqlite3-shm", 0o600),
        ("jwt-secret", 0o600),
    ];
    assert_eq!(modes(&data), expected);

    node.kill();
    set_mode(&data, 0o755);
    for file in files {
        set_mode(&data.join(file), 0o644);
    }
    node.restart().await;
    assert_eq!(modes(&data), expected, "loose modes are tightened at start");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_raises_the_open_files_limit_and_prints_its_url() {
    let (soft, hard) = rlimit::getrlimit(Resource::NOFILE).unwrap();
    let low = 256.min(hard);
    rlimit::setrlimit(Resource::NOFILE, low, hard).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), &[]).await;
    rlimit::setrlimit(Resource::NOFILE, soft, hard).unwrap();

    let limits = rlimit::ProcLimits::read_process(node.pid() as i32).unwrap();
    let files = limits.max_open_files.unwrap();
    assert_eq!(
        (files.soft_limit, files.hard_limit),
        (Some(hard), Some(hard)),
        "started with a soft limit of {low}"
    );
    let url = format!("open http://127.0.0.1:{}/", node.port);
    assert!(node.log_text().contains(&url), "{}", node.log_text());
}

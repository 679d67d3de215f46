//! Durability: what was acknowledged is there after the store is reopened, after the process
//! is killed with SIGKILL, and the schema version guards the file.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use chat_core::id::{RoomId, UserId};
use chat_core::model::now;
use chat_core::store::{ConversationStore, MessageStore, RoomStore, Store, UserStore};
use chat_core::testing::fixtures::{new_message, new_user};
use chat_store_sqlite::{SqliteError, SqliteStore};

/// History, seqs, rooms, accounts and idempotency keys survive dropping and reopening.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested").join("dirs").join("chat.db");

    let store = SqliteStore::open(&path).unwrap();
    let ann = store.create_user(new_user("Ann")).await.unwrap();
    let bob = store.create_user(new_user("Bob")).await.unwrap();
    let room = store.direct_room(ann.id, bob.id, now()).await.unwrap();
    let mut sent = Vec::new();
    for i in 1..=10 {
        let client_id = format!("c{i}");
        let message = new_message(room.id, &ann, &format!("m{i}"), Some(&client_id));
        sent.push(store.append(message).await.unwrap().message);
    }
    drop(store);

    let store = SqliteStore::open(&path).unwrap();
    let mut history = store.page(room.id, None, 100).await.unwrap();
    history.reverse();
    assert_eq!(history, sent);
    assert_eq!(
        store.direct_room(bob.id, ann.id, now()).await.unwrap().id,
        room.id
    );
    let credentials = store.credentials(&ann.email).await.unwrap().unwrap();
    assert_eq!(credentials.user, ann);

    let next = store
        .append(new_message(room.id, &bob, "after reopening", None))
        .await
        .unwrap();
    assert!(next.created);
    assert_eq!(next.message.seq, 11);
    let resend = store
        .append(new_message(room.id, &ann, "resent", Some("c3")))
        .await
        .unwrap();
    assert!(!resend.created);
    assert_eq!(resend.message, sent[2]);
    let listed = store.rooms_of(ann.id, 10).await.unwrap();
    assert_eq!(listed[0].last_message.as_ref(), Some(&next.message));
    store.flush().await.unwrap();
    store.ping().await.unwrap();
}

/// Set in the child process of [`acknowledged_appends_survive_kill_9`]: where to append.
const CHILD_DB: &str = "CHAT_STORE_SQLITE_KILL_TEST_DB";
/// How many acknowledgements the parent waits for before it kills the child.
const ACKS_BEFORE_KILL: u64 = 300;

/// A child process appends as fast as it can and reports each acknowledgement; the parent
/// kills it with SIGKILL mid-stream. Every acknowledged message must be in the database, and
/// the sender's read position (stored behind the appends) must have reached its newest one.
#[test]
fn acknowledged_appends_survive_kill_9() {
    if let Some(path) = std::env::var_os(CHILD_DB) {
        append_until_killed(Path::new(&path));
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "acknowledged_appends_survive_kill_9",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut room, mut sender, mut acked) = (None, None, 0);
    // The test harness may print its own text before ours on a line, so look for the markers.
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if let Some((_, id)) = line.split_once("room ") {
            room = Some(id.parse::<RoomId>().unwrap());
        } else if let Some((_, id)) = line.split_once("sender ") {
            sender = Some(id.parse::<UserId>().unwrap());
        } else if let Some((_, seq)) = line.split_once("acked ") {
            acked = seq.parse::<u64>().unwrap();
            if acked >= ACKS_BEFORE_KILL {
                break;
            }
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(acked >= ACKS_BEFORE_KILL, "the child stopped early");

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let history = runtime
        .block_on(store.page(room.unwrap(), None, usize::MAX))
        .unwrap();
    let newest = history[0].seq;
    assert!(
        newest >= acked,
        "acknowledged seq {acked} lost, newest is {newest}"
    );
    let seqs: Vec<u64> = history.iter().rev().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=newest).collect::<Vec<u64>>());
    let read = runtime
        .block_on(store.read_positions(&[(room.unwrap(), sender.unwrap())]))
        .unwrap();
    assert_eq!(read, vec![newest]);
}

/// The child's side: appends until killed, printing each acknowledged seq.
fn append_until_killed(path: &Path) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(path).unwrap();
        let ann = store.create_user(new_user("Ann")).await.unwrap();
        let bob = store.create_user(new_user("Bob")).await.unwrap();
        let room = store.direct_room(ann.id, bob.id, now()).await.unwrap();
        println!("room {}", room.id);
        println!("sender {}", ann.id);
        for i in 0..1_000_000 {
            let message = new_message(room.id, &ann, &format!("m{i}"), None);
            let seq = store.append(message).await.unwrap().message.seq;
            println!("acked {seq}");
        }
    });
}

/// A database migrated by a newer release is refused rather than misread.
#[test]
fn an_unknown_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let refused = SqliteStore::open(&path);
    assert!(
        matches!(refused, Err(SqliteError::UnknownSchema { found: 99, .. })),
        "{:?}",
        refused.err()
    );
}

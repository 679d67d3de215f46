//! The database goes away mid-run and comes back: appends fail fast and clearly while it is
//! gone, nothing acknowledged is lost, and the same store recovers by itself.
//!
//! Runs a private FerretDB (from `CHAT_TEST_FERRETDB_BIN`) so it can kill it without disturbing
//! the server the other tests share.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chat_core::model::{Message, NewMessage, User, now};
use chat_core::store::{MessageStore, RoomStore, Store};
use chat_core::testing::fixtures::{new_message, user};
use chat_core::{Error, RoomId};
use chat_store_mongo::MongoStore;

/// Longest an append may take to fail while the database is down: the store's 3 s server
/// selection timeout plus slack for a loaded CI machine.
const FAIL_FAST: Duration = Duration::from_secs(8);

/// A FerretDB process on SQLite, killed when dropped so a failing test leaves nothing behind.
struct FerretDb {
    child: Child,
}

impl FerretDb {
    /// Starts FerretDB on `port` with its data and state under `dir`, and waits until it
    /// accepts connections.
    fn start(bin: &str, dir: &Path, port: u16) -> FerretDb {
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::create_dir_all(dir.join("state")).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("ferretdb.log"))
            .unwrap();
        let child = Command::new(bin)
            .arg("--handler=sqlite")
            .arg(format!("--sqlite-url=file:{}/", dir.join("data").display()))
            .arg(format!("--listen-addr=127.0.0.1:{port}"))
            .arg(format!("--state-dir={}", dir.join("state").display()))
            .arg("--debug-addr=-")
            .arg("--telemetry=disable")
            .arg("--log-level=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {bin}: {error}"));
        let mut server = FerretDb { child };
        let restarted = Instant::now();
        let deadline = restarted + Duration::from_secs(30);
        while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("FerretDB exited with {status} at start-up, see its log in {dir:?}");
            }
            assert!(
                Instant::now() < deadline,
                "FerretDB did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// Kills the process the hard way, as a crash or an OOM kill would.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for FerretDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn message(room: RoomId, sender: &User, text: &str, client_id: &str) -> NewMessage {
    new_message(room, sender, text, Some(client_id))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appends_fail_fast_while_the_database_is_down_and_recover_by_themselves() {
    let Some(bin) = std::env::var("CHAT_TEST_FERRETDB_BIN")
        .ok()
        .filter(|bin| !bin.is_empty())
    else {
        eprintln!(
            "SKIPPED appends_fail_fast_while_the_database_is_down_and_recover_by_themselves: \
             CHAT_TEST_FERRETDB_BIN is not set"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let server = FerretDb::start(&bin, dir.path(), port);
    let url = format!("mongodb://127.0.0.1:{port}/");
    let store = MongoStore::connect(&url, "chat_outage").await.unwrap();
    let (ann, bob) = (user(&store, "Ann").await, user(&store, "Bob").await);
    let room = store.direct_room(ann.id, bob.id, now()).await.unwrap();

    let mut acknowledged: Vec<Message> = Vec::new();
    for i in 0..20 {
        let new = message(
            room.id,
            &ann,
            &format!("before {i}"),
            &format!("before-{i}"),
        );
        acknowledged.push(store.append(new).await.unwrap().message);
    }

    server.kill();
    for i in 0..3 {
        let started = Instant::now();
        let new = message(room.id, &bob, "while down", &format!("down-{i}"));
        let result = store.append(new).await;
        assert!(
            matches!(result, Err(Error::Unavailable { .. })),
            "append while down: {result:?}"
        );
        eprintln!("append {i} while down failed in {:?}", started.elapsed());
        assert!(
            started.elapsed() < FAIL_FAST,
            "took {:?}",
            started.elapsed()
        );
    }
    let ping = store.ping().await;
    assert!(matches!(ping, Err(Error::Unavailable { .. })), "{ping:?}");

    let _server = FerretDb::start(&bin, dir.path(), port);
    // The client resends with its client id until the store answers, as a socket client would;
    // the store itself is not told that the database is back.
    let restarted = Instant::now();
    let deadline = restarted + Duration::from_secs(30);
    let resent = loop {
        match store
            .append(message(room.id, &bob, "after", "after-0"))
            .await
        {
            Ok(appended) => break appended.message,
            Err(Error::Unavailable { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(error) => panic!("the store did not recover: {error:?}"),
        }
    };
    eprintln!(
        "appends work again {:?} after the restart",
        restarted.elapsed()
    );
    acknowledged.push(resent);
    let next = store
        .append(message(room.id, &ann, "and on", "after-1"))
        .await
        .unwrap();
    assert!(next.created);
    acknowledged.push(next.message);

    let mut history = store.page(room.id, None, 100).await.unwrap();
    history.reverse();
    let seqs: Vec<u64> = history.iter().map(|message| message.seq).collect();
    assert_eq!(
        seqs,
        (1..=history.len() as u64).collect::<Vec<_>>(),
        "gapless"
    );
    // Every acknowledged message is there, in the order it was acknowledged; the appends that
    // failed while the database was down stored nothing.
    assert_eq!(history, acknowledged);
    let summary = store.room(room.id).await.unwrap().unwrap();
    assert_eq!(summary.last_message.as_ref(), acknowledged.last());
    store.ping().await.unwrap();
}

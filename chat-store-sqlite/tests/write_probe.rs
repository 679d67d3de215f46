//! The write probe takes the path of real writes: it fails while another connection holds
//! the database's write lock, though reads still answer, and readiness reports exactly that,
//! probing the store at most once a second however often it is asked.

use std::sync::Arc;
use std::time::Duration;

use chat_core::store::Store;
use chat_core::{Engine, Error, TokenKeys};
use chat_store_sqlite::SqliteStore;
use rusqlite::{Connection, OptionalExtension};

fn open(dir: &tempfile::TempDir) -> (Arc<SqliteStore>, Connection) {
    let path = dir.path().join("chat.db");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let other = Connection::open(&path).unwrap();
    (store, other)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_probe_fails_while_another_connection_holds_the_write_lock() {
    let dir = tempfile::tempdir().unwrap();
    let (store, other) = open(&dir);
    store.probe_write().await.unwrap();

    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    store.ping().await.unwrap();
    let probe = store.probe_write().await;
    assert!(matches!(probe, Err(Error::Unavailable { .. })), "{probe:?}");

    other.execute_batch("COMMIT").unwrap();
    store.probe_write().await.unwrap();
}

/// The time the probe last stamped, read by another connection.
fn probed_at(conn: &Connection) -> Option<i64> {
    conn.query_row("SELECT probed_at FROM health WHERE id = 1", [], |row| {
        row.get(0)
    })
    .optional()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_probes_writes_at_most_once_a_second_and_reports_a_stuck_writer() {
    let dir = tempfile::tempdir().unwrap();
    let (store, other) = open(&dir);
    let engine = Engine::builder(store, TokenKeys::from_secret(b"secret")).build();
    assert_eq!(probed_at(&other), None);

    let ready = engine.readiness().await;
    assert!(ready.is_ready() && ready.store_writes, "{ready:?}");
    let first = probed_at(&other).expect("the probe stamped its row");
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(engine.readiness().await.is_ready());
    }
    assert_eq!(
        probed_at(&other),
        Some(first),
        "no second probe within a second"
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let started = std::time::Instant::now();
    let stuck = engine.readiness().await;
    assert!(!stuck.is_ready(), "{stuck:?}");
    assert!(stuck.store && !stuck.store_writes, "{stuck:?}");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "readiness answers before the store's busy timeout"
    );
    other.execute_batch("COMMIT").unwrap();

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let wait = std::time::Instant::now() + Duration::from_secs(10);
    while !engine.readiness().await.is_ready() {
        assert!(
            std::time::Instant::now() < wait,
            "readiness never recovered"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(probed_at(&other) > Some(first));
}

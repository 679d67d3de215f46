//! SQLite against an LSM store (`fjall`) on the durable append path, the measurement issue 13
//! asks for before deciding whether SQLite stays: the same logical work on both engines, on
//! one thread, with no runtime or channel around it.
//!
//! Per message, as the SQLite writer does it (`chat-store-sqlite/src/writes.rs`): read the
//! room's newest seq, look the `client_id` up, store the message under the next seq (reachable
//! by room and seq, by id and by idempotency key), and move the sender's read position. A group
//! of N messages, each into its own direct room of 500, is committed at once, as a busy
//! server's group commits are. Neither engine syncs at commit: SQLite runs WAL with
//! `synchronous = NORMAL` and checkpoints inline (every 1,000 pages), fjall writes its journal
//! to the OS at every batch; both keep what was acknowledged through a `kill -9`.
//!
//! Also measured: the page of 50 newest messages of one room, the read a history request makes.
//!
//! Run on one core, so that fjall's flush and compaction threads are paid for:
//! `taskset -c 0 cargo bench -p chat-benches --bench append_engines`.

// criterion_group! generates functions that cannot carry doc comments.
#![allow(missing_docs)]

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chat_core::model::{NewUser, now};
use chat_core::store::Store;
use chat_core::{MessageId, RoomId, UserId};
use chat_store_sqlite::SqliteStore;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fjall::{Database, Keyspace, KeyspaceCreateOptions};
use rusqlite::{Connection, OptionalExtension, params};

const ROOMS: usize = 500;
/// Messages each room holds before measuring, so both engines work on a store of 50,000.
const ROOM_HISTORY: usize = 100;
const GROUPS: [usize; 2] = [1, 32];
/// Messages appended per measured iteration: enough that each sample covers the engines'
/// background work (checkpoints, memtable flushes, compactions) rather than a quiet moment.
const CHUNK: usize = 4_096;
const TEXT: &str = "a message of about one hundred bytes, the size chat bench sends by default..";

/// One direct room and the member who sends into it.
#[derive(Clone, Copy)]
struct Lane {
    room: RoomId,
    sender: UserId,
}

/// What every append carries; the engines differ in what they do with it.
struct Outgoing {
    id: MessageId,
    lane: Lane,
    client_id: String,
    ts: i64,
}

impl Outgoing {
    fn new(lane: Lane) -> Outgoing {
        Outgoing {
            id: MessageId::generate(),
            lane,
            client_id: MessageId::generate().to_string(),
            ts: now().timestamp_millis(),
        }
    }

    fn client_key(&self) -> i64 {
        let mut hasher = DefaultHasher::new();
        (self.lane.sender, &self.client_id).hash(&mut hasher);
        i64::from_le_bytes(hasher.finish().to_le_bytes())
    }
}

/// An engine as the append path uses it: one group of messages, stored and committed at once.
trait Engine {
    fn append_group(&mut self, group: &[Outgoing]);
    fn newest_page(&mut self, room: RoomId) -> usize;
}

struct Sqlite {
    conn: Connection,
}

impl Sqlite {
    fn append(&self, message: &Outgoing) -> rusqlite::Result<()> {
        let room = message.lane.room.0.as_bytes();
        let sender = message.lane.sender.0.as_bytes();
        let last_seq: u64 = self
            .conn
            .prepare_cached(
                "SELECT (SELECT coalesce(max(seq), 0) FROM messages WHERE room_id = ?1)
                 FROM rooms WHERE id = ?1",
            )?
            .query_row([room], |row| row.get(0))?;
        let key = message.client_key();
        let resent: Option<Vec<u8>> = self
            .conn
            .prepare_cached(
                "SELECT id FROM messages INDEXED BY messages_by_client_key
                 WHERE client_key = ?1 AND room_id = ?2 AND sender_id = ?3 AND client_id = ?4",
            )?
            .query_row(params![key, room, sender, message.client_id], |row| {
                row.get(0)
            })
            .optional()?;
        assert!(resent.is_none(), "every client_id is fresh");
        self.conn
            .prepare_cached(
                "INSERT INTO messages (id, room_id, seq, sender_id, sender_name, text,
                     client_id, client_key, ts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?
            .execute(params![
                message.id.0.as_bytes(),
                room,
                last_seq + 1,
                sender,
                "Bench",
                TEXT,
                message.client_id,
                key,
                message.ts
            ])?;
        self.conn
            .prepare_cached(
                "UPDATE room_members SET read_seq = max(read_seq, ?3)
                 WHERE room_id = ?1 AND user_id = ?2",
            )?
            .execute(params![room, sender, last_seq + 1])?;
        let _read: u64 = self
            .conn
            .prepare_cached(
                "SELECT read_seq FROM room_members WHERE room_id = ?1 AND user_id = ?2",
            )?
            .query_row((room, sender), |row| row.get(0))?;
        Ok(())
    }
}

impl Engine for Sqlite {
    fn append_group(&mut self, group: &[Outgoing]) {
        self.conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        for message in group {
            self.append(message).unwrap();
        }
        self.conn.execute_batch("COMMIT").unwrap();
    }

    fn newest_page(&mut self, room: RoomId) -> usize {
        let mut page = self
            .conn
            .prepare_cached(
                "SELECT id, seq, sender_id, sender_name, text, client_id, ts FROM messages
                 WHERE room_id = ?1 ORDER BY seq DESC LIMIT 50",
            )
            .unwrap();
        let rows = page
            .query_map([room.0.as_bytes()], |row| {
                Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, String>(4)?))
            })
            .unwrap();
        rows.map(Result::unwrap).count()
    }
}

/// The messages of a room under `room ++ seq` (big-endian, so a room's history is one range in
/// seq order), with secondary keyspaces for lookups by id and by idempotency key, and read
/// positions under `room ++ user`.
struct Fjall {
    db: Database,
    messages: Keyspace,
    by_id: Keyspace,
    by_client_id: Keyspace,
    read_positions: Keyspace,
    heads: HashMap<RoomId, u64>,
}

fn room_key(room: RoomId, suffix: &[u8]) -> Vec<u8> {
    [room.0.as_bytes().as_slice(), suffix].concat()
}

/// A message row as bytes: fixed fields first, then the strings, each after its length.
fn encode(message: &Outgoing, seq: u64) -> Vec<u8> {
    let mut row = Vec::with_capacity(64 + TEXT.len() + message.client_id.len());
    row.extend_from_slice(message.id.0.as_bytes());
    row.extend_from_slice(&seq.to_be_bytes());
    row.extend_from_slice(message.lane.sender.0.as_bytes());
    row.extend_from_slice(&message.ts.to_be_bytes());
    for text in ["Bench", TEXT, &message.client_id] {
        row.extend_from_slice(&u32::try_from(text.len()).unwrap().to_be_bytes());
        row.extend_from_slice(text.as_bytes());
    }
    row
}

fn seq_of(key: &[u8]) -> u64 {
    u64::from_be_bytes(key[key.len() - 8..].try_into().unwrap())
}

impl Fjall {
    fn open(path: &Path) -> Fjall {
        let db = Database::builder(path).open().unwrap();
        let keyspace = |name| db.keyspace(name, KeyspaceCreateOptions::default).unwrap();
        Fjall {
            messages: keyspace("messages"),
            by_id: keyspace("messages_by_id"),
            by_client_id: keyspace("messages_by_client_id"),
            read_positions: keyspace("read_positions"),
            heads: HashMap::new(),
            db,
        }
    }

    /// A room's newest seq, read from the store once and then kept by the writer, as a fjall
    /// store would: a reverse prefix scan merges every memtable and table of the keyspace.
    fn head_seq(&mut self, room: RoomId) -> u64 {
        let messages = &self.messages;
        *self.heads.entry(room).or_insert_with(|| {
            messages
                .prefix(room.0.as_bytes())
                .next_back()
                .map_or(0, |newest| seq_of(&newest.key().unwrap()))
        })
    }
}

impl Engine for Fjall {
    fn append_group(&mut self, group: &[Outgoing]) {
        let mut batch = self.db.batch();
        let mut assigned: HashMap<RoomId, u64> = HashMap::new();
        for message in group {
            let lane = message.lane;
            let last_seq = match assigned.get(&lane.room) {
                Some(&seq) => seq,
                None => self.head_seq(lane.room),
            };
            let client_key = [
                lane.sender.0.as_bytes().as_slice(),
                message.client_id.as_bytes(),
            ]
            .concat();
            assert!(
                self.by_client_id.get(&client_key).unwrap().is_none(),
                "every client_id is fresh"
            );
            let seq = last_seq + 1;
            assigned.insert(lane.room, seq);
            let position = room_key(lane.room, &seq.to_be_bytes());
            batch.insert(&self.messages, position.clone(), encode(message, seq));
            batch.insert(&self.by_id, message.id.0.as_bytes(), position.clone());
            batch.insert(&self.by_client_id, client_key, position);
            let member = room_key(lane.room, lane.sender.0.as_bytes());
            let read = self.read_positions.get(&member).unwrap().map_or(0, |seq| {
                u64::from_be_bytes(seq.as_ref().try_into().unwrap())
            });
            batch.insert(&self.read_positions, member, read.max(seq).to_be_bytes());
        }
        batch.commit().unwrap();
        self.heads.extend(assigned);
    }

    fn newest_page(&mut self, room: RoomId) -> usize {
        self.messages
            .prefix(room.0.as_bytes())
            .rev()
            .take(50)
            .map(|row| row.into_inner().unwrap())
            .filter(|(_, row)| !row.is_empty())
            .count()
    }
}

fn bench_user(i: usize) -> NewUser {
    NewUser {
        id: UserId::generate(),
        email: format!("append-engines-{i}@example.com"),
        name: format!("B{i}"),
        password_hash: "$argon2id$unused".into(),
        created_at: now(),
    }
}

/// Creates the users and rooms with the real store (so the schema and rows are the shipped
/// ones), then closes it and opens the file on a bare connection configured as the writer's.
fn open_sqlite(path: &Path) -> (Sqlite, Vec<Lane>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let lanes = runtime.block_on(async {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(path).unwrap());
        let users: Vec<NewUser> = (0..2 * ROOMS).map(bench_user).collect();
        let ids: Vec<UserId> = users.iter().map(|user| user.id).collect();
        store.create_users(users).await.unwrap();
        let mut lanes = Vec::with_capacity(ROOMS);
        for pair in ids.chunks(2) {
            let room = store.direct_room(pair[0], pair[1], now()).await.unwrap().id;
            lanes.push(Lane {
                room,
                sender: pair[0],
            });
        }
        lanes
    });
    let conn = Connection::open(path).unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.pragma_update(None, "wal_autocheckpoint", 1000)
        .unwrap();
    (Sqlite { conn }, lanes)
}

/// Fills each room with [`ROOM_HISTORY`] messages, a whole round of rooms per group.
fn preload(engine: &mut dyn Engine, lanes: &[Lane]) {
    for _ in 0..ROOM_HISTORY {
        let round: Vec<Outgoing> = lanes.iter().map(|&lane| Outgoing::new(lane)).collect();
        engine.append_group(&round);
    }
}

fn engines(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (sqlite, lanes) = open_sqlite(&dir.path().join("chat.sqlite3"));
    let fjall = Fjall::open(&dir.path().join("fjall"));
    let mut engines: Vec<(&str, Box<dyn Engine>)> =
        vec![("sqlite", Box::new(sqlite)), ("fjall", Box::new(fjall))];
    for (_, engine) in &mut engines {
        preload(engine.as_mut(), &lanes);
    }
    let mut appends = c.benchmark_group("durable_append");
    appends.sample_size(10);
    appends.throughput(Throughput::Elements(CHUNK as u64));
    for group in GROUPS {
        for (name, engine) in &mut engines {
            let mut next = 0;
            appends.bench_function(BenchmarkId::new(format!("group_of_{group}"), *name), |b| {
                b.iter_custom(|iterations| {
                    let started = Instant::now();
                    for _ in 0..iterations * (CHUNK / group) as u64 {
                        let messages: Vec<Outgoing> = (next..next + group)
                            .map(|i| Outgoing::new(lanes[i % ROOMS]))
                            .collect();
                        next += group;
                        engine.append_group(&messages);
                    }
                    started.elapsed()
                });
            });
        }
    }
    appends.finish();
    let mut pages = c.benchmark_group("newest_page_50");
    pages.throughput(Throughput::Elements(1));
    for (name, engine) in &mut engines {
        let mut next = 0;
        pages.bench_function(*name, |b| {
            b.iter(|| {
                next += 1;
                assert_eq!(engine.newest_page(lanes[next % ROOMS].room), 50);
            });
        });
    }
    pages.finish();
}

criterion_group!(benches, engines);
criterion_main!(benches);

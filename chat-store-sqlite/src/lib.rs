//! `chat-store-sqlite`: the embedded, durable default store of the chat engine, on SQLite.
//!
//! [`SqliteStore`] implements `chat_core::store::Store` on one database file in WAL mode, with
//! the search index in a file beside it that is rebuilt from the messages when missing. The
//! `testing` feature adds `SqliteStore::open_temp`, a store on a scratch database for tests.
//!
//! - Writes (registrations, room creation, appends) go through one dedicated writer thread that
//!   does group commit: it takes everything waiting in its queue, runs it in one transaction,
//!   commits once and only then answers each caller. The cost of a commit is shared by every
//!   write in it, so throughput rises with load instead of collapsing. When CPU is short the
//!   writer waits up to 1 ms for a small group to grow before committing it; otherwise it
//!   never waits.
//! - Reads run on a small pool of read-only connections on tokio's blocking threads; in WAL mode
//!   they see the latest commit without waiting for the writer.
//! - Durability: `synchronous=NORMAL` in WAL mode. A write is acknowledged once committed to the
//!   WAL, which survives a crash or `kill -9` of the process; a power loss or OS crash may roll
//!   back the last commits. [`chat_core::store::Store::flush`] checkpoints the WAL into the
//!   database file with an fsync, for a clean shutdown.
//!
//! Module map: [`store`] is the public type and the trait impls; `writer` the group-commit
//! thread, `linger` when it waits for more (`cpu_share` how busy the process keeps its cores), `threads` the joined threads it and its helpers run on, `write` the writes it runs and how each answers, `recent_keys` the idempotency keys and heads of the rooms' newest entries it checks resends against and appends after (`key_window` one room's keys, `recent_keys::reads` what it reads of them from the database, `warmer` the start-up read's thread), `read_marks` the senders' read positions it stores behind their appends (`reminder` nudging it when idle), and `checkpointer` the thread that copies its WAL into the database file (`lock_wait` how both wait for a lock the other holds); `groups` the group-room changes it runs; `conversation` read positions, edits,
//! tombstones and the change feed, `reactions` the reactions; `admin` the operators' reads and writes; [`backup`] online backups and restores; `readers` the read pool; `queries` the SELECTs both sides share; `search` message search on the FTS5 index, which lives in a file of its own (`search_db`) kept up to date by the `indexer` thread (`search_index` its passes); `rows` the mapping
//! between rows and model types; `schema` the tables, their migrations and the connection
//! settings; `file_records` the records of uploaded files; `files` the owner-only modes of the directory (0700) and files (0600); [`error`]
//! the crate's error and how it maps onto `chat_core::Error`.

mod admin;
mod answerer;
pub mod backup;
mod checkpointer;
mod conversation;
mod cpu_share;
pub mod error;
mod external;
mod file_records;
mod files;
mod groups;
mod indexer;
mod key_window;
mod linger;
mod lock_wait;
mod migrations;
mod queries;
mod reactions;
mod read_marks;
mod readers;
mod recent_keys;
mod reminder;
mod rows;
mod schema;
mod search;
mod search_db;
mod search_index;
mod sessions;
pub mod store;
mod threads;
mod warmer;
mod write;
mod writer;
mod writes;

pub use error::SqliteError;
/// How long a writer short of CPU waits for more writes by default ([`SqliteStore::set_commit_pause`]).
pub use linger::DEFAULT_PAUSE as DEFAULT_COMMIT_PAUSE;
pub use store::SqliteStore;

//! What the `chat` binary shares with the tools beside it (the `chat-bench` load generator):
//! the store flags, opening the store they name, the token secret kept in the data dir, and
//! the data dir's lock (servers share it; a restore needs it alone).
//! So a tool prepares data in exactly the store, and signs with exactly the secret, that a
//! `chat serve` given the same flags uses. The data dir they share is its owner's alone.

mod data_dir;
mod error;
mod lock;
pub mod secret;
mod store;

pub use error::Error;
pub use lock::DataDirLock;
pub use store::{StoreArgs, StoreOptions, open_backends, open_store, sqlite_path};

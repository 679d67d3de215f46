//! What the `chat` binary shares with the tools beside it (the `chat-bench` load generator):
//! the store flags, opening the store they name, and the token secret kept in the data dir.
//! So a tool prepares data in exactly the store, and signs with exactly the secret, that a
//! `chat serve` given the same flags uses. The data dir they share is its owner's alone.

mod data_dir;
mod error;
pub mod secret;
mod store;

pub use error::Error;
pub use store::{StoreArgs, StoreOptions, open_backends, open_store};

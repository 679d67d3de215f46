//! `chat-testkit`: what the workspace's integration tests share, written once. Only ever a
//! dev-dependency; it depends on no crate of the workspace, so every crate can use it.
//!
//! - [`env`]: the services `scripts/test` provides (`CHAT_TEST_*` variables). A test whose
//!   service is missing skips loudly, or fails under `CHAT_TEST_REQUIRE_SERVICES=1`, which
//!   `scripts/test` sets so that CI never passes having skipped a backend.
//! - [`process`]: a child process a test owns, logged to a file and killed when dropped.
//! - [`service`]: private Redis and FerretDB servers a test may kill, freeze and restart.
//! - [`node`]: a `chat serve` process on a port of its own.
//! - [`client`]: the REST and WebSocket client of a running server.
//! - [`groups`]: the client's group-room calls and protocol v2 sockets.
//! - [`files`]: the client's uploads and downloads.
//! - [`socket`]: sending and awaiting the JSON frames of a WebSocket.
//! - [`tls`]: a certificate authority of the test's own and HTTPS/WSS clients that trust it.
//! - [`unique`]: ids and names no other test uses.
//! - [`wait`]: polling until something holds.

pub mod client;
pub mod env;
pub mod files;
pub mod groups;
pub mod node;
pub mod process;
pub mod service;
pub mod socket;
pub mod tls;
pub mod unique;
pub mod wait;

pub use client::{Client, TestUser, read};
pub use env::{mongo_url, mongo_url_with_db, redis_url};
pub use node::Node;
pub use service::Service;
pub use socket::{Socket, assert_silent, close_code, next_json, next_message, next_of, send_frame};
pub use tls::{Authority, TlsClient, TlsSocket, send_and_echo};
pub use unique::{rand_tag, unique_name};
pub use wait::eventually;

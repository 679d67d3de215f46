//! `chat-core`: a transport-agnostic chat engine.
//!
//! Users, direct rooms, durable ordered history, authentication, and the fanout of events to
//! connected sockets, behind narrow traits for storage ([`store`]), cross-node relay
//! ([`bus`]), presence ([`presence`]), quotas ([`limits`]) and file bytes ([`blob`]), each with an in-process
//! implementation in [`memory`]. Transports (HTTP, WebSocket) and backends (SQLite, MongoDB,
//! Redis) live in other crates.
//!
//! Module map: [`engine`] composes everything; [`hub`] is the local fanout; [`model`] and
//! [`id`] are the records, [`membership`] the roles and timeline events of group rooms;
//! [`event`] what sockets receive; [`auth`] passwords and tokens; [`search`] message search;
//! [`files`] attachments (their records, content sniffing, thumbnails); [`metrics`] the names
//! and helpers of what the engine records through the `metrics` facade. An embedding app
//! brings its own users ([`users`]), hooks into sends, sockets and rooms ([`hooks`]), and sends
//! as the system user or a bot ([`Engine::send_as`]); email/password accounts are the
//! default-on `accounts` feature.
//!
//! Embedding it takes a few lines:
//!
//! ```
//! use std::sync::Arc;
//! use chat_core::{Engine, TokenKeys, memory::MemoryStore, hub::Next, event::ServerEvent};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> chat_core::Result<()> {
//! let engine = Engine::builder(Arc::new(MemoryStore::new()), TokenKeys::from_secret(b"s3cret"))
//!     .build();
//! let ann = engine.register("ann@example.com", "password1", "Ann").await?.user;
//! let bob = engine.register("bob@example.com", "password2", "Bob").await?.user;
//! let room = engine.open_direct(ann.id, bob.id).await?.room;
//! let mut bobs_socket = engine.connect(bob.clone()).await?;
//! engine.send(&ann, room.id, "hello Bob", None).await?;
//! let Next::Event(delivery) = bobs_socket.next().await else { panic!("no event") };
//! assert!(matches!(delivery.event(), ServerEvent::Message(m) if m.text == "hello Bob"));
//! # Ok(())
//! # }
//! ```
//!
//! # Embedding in an app with its own users
//!
//! In order: build the engine over a store ([`Engine::builder`]); map the app's users to
//! chat users by the app's own ids ([`users`], [`Engine::upsert_external_user`]); decide who
//! calls from the app's own sessions (`chat-http`'s `Authenticator`, or hand the user to
//! [`Engine::connect`] on a transport of your own); give the builder [`hooks`] that accept,
//! reject or rewrite messages before they are stored; mount `chat-http`'s `ChatRouter`; send
//! from the app's own code as the system user or a bot ([`Engine::send_as`]). The crate docs
//! of `chat-http` walk through these steps with code; the `chat-examples` crate runs them in
//! an app. Build with `default-features = false` to leave out email/password accounts.

pub mod auth;
pub mod blob;
pub mod bus;
pub mod engine;
pub mod error;
pub mod event;
pub mod files;
pub mod hooks;
pub mod hub;
pub mod id;
pub mod limits;
pub mod membership;
pub mod memory;
pub mod metrics;
pub mod model;
pub mod presence;
pub mod search;
pub mod store;
pub mod sync;
#[cfg(feature = "testing")]
pub mod testing;
pub mod users;

pub use auth::TokenKeys;
pub use engine::{
    Connection, Engine, EngineBuilder, EngineConfig, RECEIPT_ROOM_LIMIT, RoomSummary, ServerSender,
    Session,
};
pub use error::{Error, Result};
pub use id::{ConnId, FileId, MessageId, NodeId, RoomId, UserId};

//! `chat-examples`: how an app embeds the chat engine, as code the tests start and talk to.
//!
//! - [`host`]: an axum app with its own users and session-cookie login that mounts chat at
//!   `/chat`, deciding who calls through its own [`Authenticator`](chat_http::Authenticator)
//!   and mapping its users to chat users by its own ids.
//! - [`bot`]: [`Hooks`](chat_core::hooks::Hooks) that moderate (reject spam, rewrite a rude
//!   word) and a bot that answers `/echo ...` from `on_sent`.
//! - [`announcer`]: server-side sends from a background task, made idempotent by their
//!   client ids.
//!
//! `cargo run -p chat-examples` serves the host app on `127.0.0.1:8080` (see `main.rs`);
//! `tests/host.rs` starts it in-process and checks each of these over real sockets.

pub mod accounts;
pub mod announcer;
pub mod authenticator;
pub mod bot;
pub mod host;

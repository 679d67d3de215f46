//! Hooks: the host's own code, called by the engine at the points where an embedding app
//! wants a say or wants to know: before a message is stored, after it is, when a socket opens
//! or closes, when a group is created or its members change.
//!
//! # Walk-through
//!
//! 1. Implement [`Hooks`]; every method has a default that does nothing, so implement only
//!    what you need. Methods get the [`Engine`], so a bot can answer from
//!    [`Hooks::on_sent`] with [`Engine::send_as`](crate::Engine::send_as).
//! 2. Give it to the builder: `Engine::builder(store, keys).hooks(Arc::new(MyHooks)).build()`.
//! 3. Bound it in [`EngineConfig`](crate::EngineConfig): `hook_timeout` (default 2 s) is the
//!    most one call may take, waiting for its turn included, and `hook_concurrency` (default
//!    256) how many calls run at once.
//!
//! [`Hooks::on_send`] decides about each message a user sends, after validation, the
//! membership check and the rate limit, before anything is stored:
//! [`Verdict::Accept`] stores it as sent, [`Verdict::Rewrite`] stores the given text instead
//! (checked like a sent text), and [`Verdict::Reject`] stores nothing and fails the send with
//! [`Error::Rejected`](crate::Error::Rejected), whose code and detail the client sees (an
//! HTTP 403 body, or a socket's error event). A hook that does not answer within the timeout
//! fails the send with `Error::Unavailable`; a hook never runs inside the hub, so a slow one
//! delays only the call it was asked about. [`Hooks::on_connect`] may refuse a socket the
//! same way.
//!
//! The notifications ([`Hooks::on_sent`], [`Hooks::on_disconnect`],
//! [`Hooks::on_room_created`], [`Hooks::on_members_changed`]) run after the change is stored
//! and delivered, on a task the engine owns (shutdown waits for it), under the same bounds;
//! their failures are only logged. Sends made by the host itself
//! ([`Engine::send_as`](crate::Engine::send_as)) skip `on_send` (the host does not veto its
//! own messages) but are reported by `on_sent` like any other.
//!
//! ```
//! use std::sync::Arc;
//! use chat_core::hooks::{Hooks, OutgoingMessage, Verdict};
//! use chat_core::{Engine, TokenKeys, memory::MemoryStore};
//!
//! struct NoShouting;
//!
//! #[async_trait::async_trait]
//! impl Hooks for NoShouting {
//!     async fn on_send(&self, _engine: &Engine, message: &OutgoingMessage<'_>) -> Verdict {
//!         if message.text.contains("spam") {
//!             return Verdict::reject("spam", "this looks like spam");
//!         }
//!         Verdict::Rewrite(message.text.to_lowercase())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> chat_core::Result<()> {
//! let engine = Engine::builder(Arc::new(MemoryStore::new()), TokenKeys::from_secret(b"s3cret"))
//!     .hooks(Arc::new(NoShouting))
//!     .build();
//! let ann = engine.upsert_external_user("ann", "Ann").await?;
//! let bob = engine.upsert_external_user("bob", "Bob").await?;
//! let room = engine.open_direct(ann.id, bob.id).await?.room;
//! assert_eq!(engine.send(&ann, room.id, "HELLO", None).await?.text, "hello");
//! assert!(engine.send(&ann, room.id, "spam", None).await.is_err());
//! # Ok(())
//! # }
//! ```

use std::borrow::Cow;

use async_trait::async_trait;

use crate::Engine;
use crate::id::{ConnId, FileId, RoomId, UserId};
use crate::model::{Message, Room, User};

/// What the host's code is called with; every method has a default that does nothing, so a
/// host implements only the ones it needs. See the [module docs](self) for the bounds each
/// call runs under.
#[async_trait]
pub trait Hooks: Send + Sync + 'static {
    /// Decides about a message a user sends, before it is stored: accept, rewrite or reject.
    async fn on_send(&self, engine: &Engine, message: &OutgoingMessage<'_>) -> Verdict {
        let _ = (engine, message);
        Verdict::Accept
    }

    /// A message was stored and delivered (once per message, not for resends), whoever sent
    /// it, the host's own sends included: what a bot answers from.
    async fn on_sent(&self, engine: &Engine, message: &Message) {
        let _ = (engine, message);
    }

    /// A socket of `user` is opening; a rejection refuses it with the rejection's code.
    async fn on_connect(
        &self,
        engine: &Engine,
        user: &User,
        conn: ConnId,
    ) -> Result<(), Rejection> {
        let _ = (engine, user, conn);
        Ok(())
    }

    /// A socket that `on_connect` let in has closed.
    async fn on_disconnect(&self, engine: &Engine, user: UserId, conn: ConnId) {
        let _ = (engine, user, conn);
    }

    /// A group room was created (its `Created` entry is stored and delivered).
    async fn on_room_created(&self, engine: &Engine, room: &Room, creator: UserId) {
        let _ = (engine, room, creator);
    }

    /// Members were added to or removed from a group room: `entries` are the timeline entries
    /// recording it, in seq order.
    async fn on_members_changed(&self, engine: &Engine, room: RoomId, entries: &[Message]) {
        let _ = (engine, room, entries);
    }
}

/// A message a user is sending, as [`Hooks::on_send`] sees it before it is stored.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct OutgoingMessage<'a> {
    /// Who sends it (a member of the room, within its rate limit).
    pub sender: &'a User,
    /// Where it goes.
    pub room: RoomId,
    /// Its text as sent.
    pub text: &'a str,
    /// The client's idempotency key, if any; a resend with a known one stores nothing new
    /// whatever the hook answers.
    pub client_id: Option<&'a str>,
    /// Its attachments (the sender's uploads), in order.
    pub files: &'a [FileId],
}

/// What [`Hooks::on_send`] decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Store the message as sent.
    Accept,
    /// Store this text instead (validated like a sent text).
    Rewrite(String),
    /// Store nothing; the sender gets the rejection as an error.
    Reject(Rejection),
}

impl Verdict {
    /// A rejection with the code and detail the client sees.
    pub fn reject(code: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> Verdict {
        Verdict::Reject(Rejection::new(code, detail))
    }
}

/// Why the host refused something; the client sees both parts
/// (as [`Error::Rejected`](crate::Error::Rejected)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// A short machine-readable reason, e.g. `"spam"`.
    pub code: Cow<'static, str>,
    /// An explanation safe to show to the user.
    pub detail: String,
}

impl Rejection {
    /// A rejection with this code and detail.
    pub fn new(code: impl Into<Cow<'static, str>>, detail: impl Into<String>) -> Rejection {
        Rejection {
            code: code.into(),
            detail: detail.into(),
        }
    }
}

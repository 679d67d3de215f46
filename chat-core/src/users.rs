//! Users the host owns: an embedding app that has its own accounts maps each of them to a
//! chat user by its own id (an *external id*), with a display name and no password.
//!
//! # Walk-through
//!
//! 1. When one of your users first needs chat (at your login, or lazily on their first chat
//!    request), call [`Engine::upsert_external_user`](crate::Engine::upsert_external_user)
//!    with your id for them and their display name. The first call creates the chat user,
//!    later calls return the same one (renamed when the name changed); concurrent calls with
//!    one external id yield one user on every store, also across processes.
//! 2. Keep using your id: [`Engine::external_user`](crate::Engine::external_user) finds the
//!    chat user again. The chat user's [`UserId`](crate::UserId) is what rooms and messages
//!    refer to.
//! 3. Authenticate with your own sessions: hand the `User` to
//!    [`Engine::connect`](crate::Engine::connect) and the messaging calls, or mint a chat
//!    token with [`Engine::issue_token`](crate::Engine::issue_token) for the bundled HTTP
//!    edge.
//!
//! Such users have no password and no email of their own: their stored email is the
//! placeholder [`external_email`](crate::model::external_email) (in the reserved `.invalid`
//! domain) and their password hash verifies nothing, so they never log in through the
//! email/password routes. Those routes, and the password hashing behind them, are the
//! `accounts` cargo feature of `chat-core` (on by default); an app that brings its own users
//! can build with `default-features = false` and link neither.
//!
//! ```
//! use std::sync::Arc;
//! use chat_core::{Engine, TokenKeys, memory::MemoryStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> chat_core::Result<()> {
//! let engine = Engine::builder(Arc::new(MemoryStore::new()), TokenKeys::from_secret(b"s3cret"))
//!     .build();
//! let ann = engine.upsert_external_user("host-user-17", "Ann").await?;
//! let again = engine.upsert_external_user("host-user-17", "Ann Smith").await?;
//! assert_eq!((again.id, again.name.as_str()), (ann.id, "Ann Smith"));
//! assert_eq!(engine.external_user("host-user-17").await?.id, ann.id);
//! # Ok(())
//! # }
//! ```

use crate::error::{Error, Result};

/// The longest external id, in bytes of UTF-8.
pub const MAX_EXTERNAL_ID_BYTES: usize = 256;

/// External ids starting with this are the engine's own (the system user); hosts cannot
/// use them.
pub const RESERVED_PREFIX: &str = "chat:";

/// The external id of the system user that server-side sends speak as by default.
pub const SYSTEM_EXTERNAL_ID: &str = "chat:system";

/// The display name of the system user.
pub const SYSTEM_NAME: &str = "System";

/// Checks an external id a host gives: 1 to [`MAX_EXTERNAL_ID_BYTES`] bytes, no control
/// characters, not in the engine's [`RESERVED_PREFIX`].
pub fn validate_external_id(external_id: &str) -> Result<()> {
    if external_id.is_empty() || external_id.len() > MAX_EXTERNAL_ID_BYTES {
        return Err(Error::Invalid(format!(
            "an external id has 1 to {MAX_EXTERNAL_ID_BYTES} bytes"
        )));
    }
    if external_id.chars().any(char::is_control) {
        return Err(Error::Invalid(
            "an external id has no control characters".into(),
        ));
    }
    if external_id.starts_with(RESERVED_PREFIX) {
        return Err(Error::Invalid(format!(
            "external ids starting with {RESERVED_PREFIX:?} are reserved"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_ids_have_bounds_and_a_reserved_prefix() {
        assert!(validate_external_id("host-17").is_ok());
        assert!(validate_external_id(&"x".repeat(MAX_EXTERNAL_ID_BYTES)).is_ok());
        for bad in ["", "a\nb", SYSTEM_EXTERNAL_ID, "chat:bot"] {
            assert!(
                matches!(validate_external_id(bad), Err(Error::Invalid(_))),
                "{bad:?}"
            );
        }
        let long = "x".repeat(MAX_EXTERNAL_ID_BYTES + 1);
        assert!(validate_external_id(&long).is_err());
    }
}

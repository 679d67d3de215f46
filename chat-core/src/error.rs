//! The one error type of the engine, classified by what a caller can do about it.
//!
//! Backends translate their driver errors into these kinds (keeping the driver error as the
//! source), so no caller ever matches on a database or network type.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::time::Duration;

/// A boxed driver error kept as the source of [`Error::Unavailable`].
pub type BoxedSource = Box<dyn StdError + Send + Sync + 'static>;

/// What went wrong, by kind; the HTTP edge maps each kind to one status code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The thing asked for does not exist (or the caller may not know that it exists).
    #[error("{0}")]
    NotFound(String),
    /// The request collides with existing state, e.g. an email already registered.
    #[error("{0}")]
    Conflict(String),
    /// The caller is known but not allowed to do this, e.g. write to a room it is not in.
    #[error("{0}")]
    Forbidden(String),
    /// The request itself is malformed or out of bounds; retrying it unchanged will fail again.
    #[error("{0}")]
    Invalid(String),
    /// The request carries more than the server accepts (an upload past the file size limit);
    /// it was refused while streaming and nothing of it was kept.
    #[error("{0}")]
    TooLarge(String),
    /// The host's code refused the request (a [`Hooks`](crate::hooks::Hooks) method): of the
    /// kind `Forbidden`, with the host's own code and detail for the client to see.
    #[error("{detail}")]
    Rejected {
        /// The host's machine-readable reason, shown to the client as the error's code.
        code: Cow<'static, str>,
        /// The host's explanation, shown to the client.
        detail: String,
    },
    /// No valid credentials: missing, wrong, expired or badly signed.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller is sending faster than its quota allows; retrying later will work.
    #[error("{0}")]
    RateLimited(String),
    /// Too many attempts from one client address or at one account (logins, registrations);
    /// the same request will be accepted after `retry_after`.
    #[error("{detail}")]
    Throttled {
        /// What was limited, safe to show.
        detail: String,
        /// How long until an attempt is allowed again.
        retry_after: Duration,
    },
    /// More work is waiting than the server takes on (password hashing during a login storm);
    /// nothing was done, and a retry after `retry_after` may succeed.
    #[error("{what} is overloaded; try again shortly")]
    Overloaded {
        /// What is overloaded.
        what: String,
        /// A hint for when to try again.
        retry_after: Duration,
    },
    /// A backend could not be reached or failed; nothing was done and a retry may succeed.
    #[error("{what} unavailable")]
    Unavailable {
        /// Which component failed, for logs and the client-facing message.
        what: String,
        /// The driver error behind it.
        #[source]
        source: Option<BoxedSource>,
    },
}

impl Error {
    /// Wraps a backend failure so callers see one kind while logs keep the driver's detail.
    pub fn unavailable(what: impl Into<String>, source: impl Into<BoxedSource>) -> Self {
        Error::Unavailable {
            what: what.into(),
            source: Some(source.into()),
        }
    }

    /// When the caller may retry, for kinds that know it.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Throttled { retry_after, .. } | Error::Overloaded { retry_after, .. } => {
                Some(*retry_after)
            }
            _ => None,
        }
    }

    /// A stable machine-readable name of the kind, shared by REST bodies and socket events.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::Forbidden(_) | Error::Rejected { .. } => "forbidden",
            Error::Invalid(_) => "invalid",
            Error::TooLarge(_) => "too_large",
            Error::Unauthenticated(_) => "unauthenticated",
            Error::RateLimited(_) | Error::Throttled { .. } => "rate_limited",
            Error::Overloaded { .. } => "overloaded",
            Error::Unavailable { .. } => "unavailable",
        }
    }
}

impl From<crate::hooks::Rejection> for Error {
    fn from(rejection: crate::hooks::Rejection) -> Self {
        Error::Rejected {
            code: rejection.code,
            detail: rejection.detail,
        }
    }
}

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

//! The crate's error type, and how it maps onto the engine's error kinds.

use std::time::Duration;

/// What went wrong talking to Redis.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisError {
    /// The driver failed: connection refused or dropped, or Redis answered with an error.
    #[error("redis: {0}")]
    Driver(#[from] redis::RedisError),
    /// Redis did not answer in time; it may be down or overloaded.
    #[error("redis did not answer within {0:?}")]
    Timeout(Duration),
    /// Redis was found unreachable moments ago and the connection is being re-established;
    /// a watch asked for meanwhile takes effect when it is.
    #[error("redis connection is down; reconnecting")]
    Disconnected,
    /// This many publications are already waiting for Redis.
    #[error("{0} publications already waiting for redis")]
    Backlog(usize),
    /// An event could not be encoded for the bus.
    #[error("bus payload: {0}")]
    Payload(#[from] serde_json::Error),
    /// The key prefix would break the cluster hash tags built around it.
    #[error("key prefix {0:?} must not contain braces")]
    InvalidPrefix(String),
}

impl RedisError {
    /// Whether Redis could not be reached at all, as opposed to answering with an error.
    pub fn is_unreachable(&self) -> bool {
        match self {
            RedisError::Driver(driver) => {
                driver.is_io_error()
                    || driver.is_connection_refusal()
                    || driver.is_connection_dropped()
                    || driver.is_timeout()
                    || driver.is_unrecoverable_error()
            }
            RedisError::Timeout(_) | RedisError::Disconnected => true,
            RedisError::Backlog(_) => false,
            RedisError::Payload(_) | RedisError::InvalidPrefix(_) => false,
        }
    }
}

impl From<RedisError> for chat_core::Error {
    fn from(err: RedisError) -> Self {
        match err {
            RedisError::Payload(_) | RedisError::InvalidPrefix(_) => {
                chat_core::Error::Invalid(err.to_string())
            }
            RedisError::Driver(driver)
                if driver.kind() == redis::ErrorKind::InvalidClientConfig =>
            {
                chat_core::Error::Invalid(format!("redis: {driver}"))
            }
            other => chat_core::Error::unavailable("redis", other),
        }
    }
}

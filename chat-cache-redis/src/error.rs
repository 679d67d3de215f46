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
    /// The bus's pub/sub connection is down; it is being re-established and will pick up
    /// this change when it is.
    #[error("redis pub/sub connection is down")]
    Disconnected,
    /// An event could not be encoded for the bus.
    #[error("bus payload: {0}")]
    Payload(#[from] serde_json::Error),
    /// The key prefix would break the cluster hash tags built around it.
    #[error("key prefix {0:?} must not contain braces")]
    InvalidPrefix(String),
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

//! Commands to Redis over one multiplexed, self-reconnecting connection, each bounded by the
//! command timeout so a dead or silent Redis fails fast instead of stalling a caller.

use std::future::Future;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, FromRedisValue, Pipeline, RedisResult, ScriptInvocation};

use crate::error::RedisError;
use crate::options::RedisOptions;

/// Reconnection attempts per outage before the manager waits for the next command; commands
/// time out long before the attempts run out anyway.
const RECONNECT_ATTEMPTS: usize = 3;

/// A cheap-to-clone handle shared by the publisher, presence and the rate limiter.
#[derive(Clone)]
pub(crate) struct Requests {
    manager: ConnectionManager,
    timeout: Duration,
}

impl Requests {
    /// Connects, failing if Redis does not answer within the connect timeout.
    pub(crate) async fn connect(
        client: &Client,
        options: &RedisOptions,
    ) -> Result<Self, RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.command_timeout))
            .set_number_of_retries(RECONNECT_ATTEMPTS)
            .set_min_delay(options.reconnect_min)
            .set_max_delay(options.reconnect_max);
        let connecting = client.get_connection_manager_with_config(config);
        let manager = bounded(options.connect_timeout, connecting).await?;
        Ok(Requests {
            manager,
            timeout: options.command_timeout,
        })
    }

    /// Runs a pipeline; scripts in it must be loaded by the pipeline itself.
    pub(crate) async fn pipeline<T: FromRedisValue>(
        &self,
        pipe: &Pipeline,
    ) -> Result<T, RedisError> {
        let mut connection = self.manager.clone();
        bounded(self.timeout, pipe.query_async(&mut connection)).await
    }

    /// Runs one script, loading it first if Redis does not know it (e.g. after a restart).
    pub(crate) async fn script<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, RedisError> {
        let mut connection = self.manager.clone();
        bounded(self.timeout, invocation.invoke_async(&mut connection)).await
    }
}

/// Waits at most `limit` for a call to Redis.
pub(crate) async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = RedisResult<T>>,
) -> Result<T, RedisError> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(RedisError::Timeout(limit)),
    }
}

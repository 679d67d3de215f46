//! Commands to Redis over one multiplexed, self-reconnecting connection, each bounded by the
//! command timeout so a dead or silent Redis fails fast instead of stalling a caller.
//!
//! While Redis is unreachable, waiting out the timeout on every call would still add that
//! much to every send; so after a call finds Redis unreachable, calls fail at once for a
//! short pause, then one goes through again to probe.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, FromRedisValue, Pipeline, RedisResult, ScriptInvocation};

use crate::error::RedisError;
use crate::options::RedisOptions;

/// Reconnection attempts per outage before the manager waits for the next command; commands
/// time out long before the attempts run out anyway.
const RECONNECT_ATTEMPTS: usize = 3;

/// How long calls fail at once after one found Redis unreachable.
const PROBE_PAUSE: Duration = Duration::from_millis(200);

/// A cheap-to-clone handle shared by the publisher, presence and the rate limiter.
#[derive(Clone)]
pub(crate) struct Requests {
    manager: ConnectionManager,
    timeout: Duration,
    breaker: Arc<Breaker>,
}

/// Remembers that Redis was unreachable moments ago.
struct Breaker {
    epoch: Instant,
    /// Milliseconds since `epoch` before which calls fail without trying.
    open_until: AtomicU64,
}

impl Breaker {
    fn millis(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn check(&self) -> Result<(), RedisError> {
        if self.millis() < self.open_until.load(Ordering::Relaxed) {
            return Err(RedisError::Disconnected);
        }
        Ok(())
    }

    fn record<T>(&self, result: &Result<T, RedisError>) {
        if let Err(err) = result
            && err.is_unreachable()
        {
            let until = self.millis() + PROBE_PAUSE.as_millis() as u64;
            self.open_until.store(until, Ordering::Relaxed);
        }
    }
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
            breaker: Arc::new(Breaker {
                epoch: Instant::now(),
                open_until: AtomicU64::new(0),
            }),
        })
    }

    /// Runs a pipeline; scripts in it must be loaded by the pipeline itself.
    pub(crate) async fn pipeline<T: FromRedisValue>(
        &self,
        pipe: &Pipeline,
    ) -> Result<T, RedisError> {
        self.breaker.check()?;
        let mut connection = self.manager.clone();
        let result = bounded(self.timeout, pipe.query_async(&mut connection)).await;
        self.breaker.record(&result);
        result
    }

    /// Runs one script, loading it first if Redis does not know it (e.g. after a restart).
    pub(crate) async fn script<T: FromRedisValue>(
        &self,
        invocation: &ScriptInvocation<'_>,
    ) -> Result<T, RedisError> {
        self.breaker.check()?;
        let mut connection = self.manager.clone();
        let result = bounded(self.timeout, invocation.invoke_async(&mut connection)).await;
        self.breaker.record(&result);
        result
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

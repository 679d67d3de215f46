//! Shared by the Redis tests: the server under test, and nodes with a key prefix of their
//! own so tests never see each other's keys or channels.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_cache_redis::{RedisOptions, RedisSidecars};
use chat_core::bus::Bus;
use chat_core::limits::{Quota, RateLimiter};
use chat_core::presence::Presence;
use chat_core::testing::bus::BusPair;
use chat_core::testing::limits::LimiterPair;
use chat_core::testing::presence::PresencePair;

/// The shared Redis the test command started, or `None` (and a loud note) when unset.
pub fn shared_url() -> Option<String> {
    match std::env::var("CHAT_TEST_REDIS_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!("SKIPPED: CHAT_TEST_REDIS_URL is not set (scripts/test sets it)");
            None
        }
    }
}

/// Options with a fresh key prefix, so each test has Redis to itself.
pub fn options() -> RedisOptions {
    RedisOptions {
        key_prefix: format!("test:{}:", chat_core::NodeId::generate()),
        ..RedisOptions::default()
    }
}

/// One node's sidecars.
pub async fn node(url: &str, options: &RedisOptions) -> RedisSidecars {
    RedisSidecars::connect(url, options.clone())
        .await
        .expect("connect to redis")
}

/// Two nodes of one deployment on the shared Redis.
pub async fn nodes(options: &RedisOptions) -> Option<(RedisSidecars, RedisSidecars)> {
    let url = shared_url()?;
    Some((node(&url, options).await, node(&url, options).await))
}

/// Factory for the presence suite.
pub async fn presence_pair() -> Option<PresencePair> {
    let (one, two) = nodes(&options()).await?;
    let one: Arc<dyn Presence> = Arc::new(one.presence);
    let two: Arc<dyn Presence> = Arc::new(two.presence);
    Some((one, two))
}

/// Factory for the limits suite.
pub async fn limiter_pair(quota: Quota) -> Option<LimiterPair> {
    let (one, two) = nodes(&RedisOptions { quota, ..options() }).await?;
    let one: Arc<dyn RateLimiter> = Arc::new(one.limiter);
    let two: Arc<dyn RateLimiter> = Arc::new(two.limiter);
    Some((one, two))
}

/// Factory for the bus suite.
pub async fn bus_pair() -> Option<BusPair> {
    let (one, two) = nodes(&options()).await?;
    let one: Arc<dyn Bus> = Arc::new(one.bus);
    let two: Arc<dyn Bus> = Arc::new(two.bus);
    Some((one, two))
}

/// A redis-server of the test's own, which it may kill and restart on the same port.
pub struct PrivateRedis {
    binary: String,
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    /// Starts one from `CHAT_TEST_REDIS_SERVER_BIN`, or `None` (and a loud note) when unset.
    pub fn start() -> Option<Self> {
        let Ok(binary) = std::env::var("CHAT_TEST_REDIS_SERVER_BIN") else {
            eprintln!("SKIPPED: CHAT_TEST_REDIS_SERVER_BIN is not set (scripts/test sets it)");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("free port")
            .port();
        let mut server = PrivateRedis {
            binary,
            port,
            child: None,
        };
        server.restart();
        Some(server)
    }

    /// Where it listens.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills it like a crash would, and waits until it is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _frozen_servers_die_too = child.kill();
            let _reaped = child.wait();
        }
    }

    /// Stops it without closing its connections, like a hung or partitioned server.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Lets a frozen server go on.
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("server running");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill {signal} failed");
    }

    /// Starts it (again) on the same port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new(&self.binary)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--protected-mode", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn answers(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let mut reply = [0u8; 5];
        stream
            .set_read_timeout(Some(Duration::from_secs(1)))
            .is_ok()
            && stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG"
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `condition` until it holds, failing after `limit`.
pub async fn eventually(limit: Duration, what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !condition() {
        assert!(Instant::now() < deadline, "{what} not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

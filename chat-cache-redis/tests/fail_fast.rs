//! With Redis down (killed) or hanging (stopped) every call fails fast with `Unavailable`
//! (the engine then falls back to local behaviour) but `publish`, which queues without
//! waiting, and once Redis is back everything works again without a restart. Needs `CHAT_TEST_REDIS_SERVER_BIN`: the tests kill, stop and
//! restart servers of their own.

mod support;

use std::future::Future;
use std::time::{Duration, Instant};

use chat_cache_redis::RedisOptions;
use chat_core::bus::{Bus, Inbound, Topic};
use chat_core::event::ServerEvent;
use chat_core::limits::RateLimiter;
use chat_core::presence::Presence;
use chat_core::testing::bus::next;
use chat_core::{ConnId, Error, UserId};
use chat_testkit::{Service, eventually};
use support::{node, options};

/// Fails fast: well inside the engine's patience for a sidecar and a client's for a send.
const FAST: Duration = Duration::from_millis(1200);

async fn fails_fast<T: std::fmt::Debug>(
    what: &str,
    call: impl Future<Output = chat_core::Result<T>>,
) {
    let started = Instant::now();
    let result = call.await;
    let took = started.elapsed();
    assert!(
        matches!(result, Err(Error::Unavailable { .. })),
        "{what}: {result:?}"
    );
    assert!(took < FAST, "{what} took {took:?}");
}

async fn until_ok<T>(what: &str, mut call: impl AsyncFnMut() -> chat_core::Result<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match call().await {
            Ok(value) => return value,
            Err(err) => assert!(Instant::now() < deadline, "{what} still failing: {err}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_fail_fast_while_redis_is_down_and_recover_after() {
    let Some(mut server) = Service::redis() else {
        return;
    };
    let node = node(&server.url(), &options()).await;
    let user = UserId::generate();
    let conn = ConnId::generate();
    let event = ServerEvent::Presence {
        user_id: user,
        online: true,
    };
    assert_eq!(node.presence.connect(user, conn).await.unwrap(), 1);

    server.kill();
    for _ in 0..3 {
        fails_fast("connect", node.presence.connect(user, ConnId::generate())).await;
        fails_fast("disconnect", node.presence.disconnect(user, conn)).await;
        fails_fast("online", node.presence.online(&[user])).await;
        fails_fast("heartbeat", node.presence.heartbeat(&[(user, conn)])).await;
        fails_fast("expired", node.presence.expired()).await;
        fails_fast("allow", node.limiter.allow(user)).await;
        let started = Instant::now();
        node.bus
            .publish(&[Topic::User(user)], &event)
            .await
            .unwrap();
        assert!(started.elapsed() < FAST, "publish queues without waiting");
        fails_fast("watch", node.bus.watch(Topic::User(user))).await;
    }
    assert!(!node.bus.is_connected());

    server.restart();
    assert!(until_ok("allow", async || node.limiter.allow(user).await).await);
    let count = until_ok("connect", async || node.presence.connect(user, conn).await).await;
    assert_eq!(count, 1, "a restarted Redis starts empty");
    eventually(Duration::from_secs(10), "bus reconnects", || {
        node.bus.is_connected()
    })
    .await;
    until_ok("watch", async || node.bus.watch(Topic::User(user)).await).await;
    node.bus
        .publish(&[Topic::User(user)], &event)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_time_out_while_redis_hangs_and_the_bus_comes_back_after() {
    let Some(server) = Service::redis() else {
        return;
    };
    let options = RedisOptions {
        ping_interval: Duration::from_millis(300),
        ..options()
    };
    let node = node(&server.url(), &options).await;
    let mut inbound = node.bus.take_inbound().unwrap();
    let user = UserId::generate();
    node.bus.watch(Topic::User(user)).await.unwrap();

    server.freeze();
    for _ in 0..2 {
        fails_fast("connect", node.presence.connect(user, ConnId::generate())).await;
        fails_fast("online", node.presence.online(&[user])).await;
        fails_fast("allow", node.limiter.allow(user)).await;
    }
    eventually(Duration::from_secs(5), "bus notices Redis hangs", || {
        !node.bus.is_connected()
    })
    .await;

    server.thaw();
    assert_eq!(next(&mut inbound).await, Inbound::Reconnected);
    assert!(until_ok("allow", async || node.limiter.allow(user).await).await);
}

//! A node that stops heartbeating (it died) loses its sockets after the TTL, and exactly one
//! surviving node reports each of its users as gone. Uses `CHAT_TEST_REDIS_URL`.

mod support;

use std::time::Duration;

use chat_cache_redis::RedisOptions;
use chat_core::presence::Presence;
use chat_core::{ConnId, UserId};
use chat_testkit::redis_url;
use support::{node, options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_users_are_reported_once_across_nodes() {
    let Some(url) = redis_url() else { return };
    let options = RedisOptions {
        presence_ttl: Duration::from_millis(800),
        ..options()
    };
    let dying = node(&url, &options).await;
    let (one, two) = (node(&url, &options).await, node(&url, &options).await);

    let (gone, roaming, staying, left) = (
        UserId::generate(),
        UserId::generate(),
        UserId::generate(),
        UserId::generate(),
    );
    let roaming_here = ConnId::generate();
    let staying_conn = ConnId::generate();
    let left_conn = ConnId::generate();
    assert_eq!(
        dying
            .presence
            .connect(gone, ConnId::generate())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        dying
            .presence
            .connect(roaming, ConnId::generate())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        one.presence.connect(roaming, roaming_here).await.unwrap(),
        2
    );
    assert_eq!(
        one.presence.connect(staying, staying_conn).await.unwrap(),
        1
    );
    assert_eq!(two.presence.connect(left, left_conn).await.unwrap(), 1);
    assert_eq!(two.presence.disconnect(left, left_conn).await.unwrap(), 0);
    assert!(one.presence.expired().await.unwrap().is_empty());
    drop(dying);

    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        one.presence
            .heartbeat(&[(roaming, roaming_here), (staying, staying_conn)])
            .await
            .unwrap();
    }

    let (at_one, at_two) = tokio::join!(one.presence.expired(), two.presence.expired());
    let mut reported = at_one.unwrap();
    reported.extend(at_two.unwrap());
    assert_eq!(reported, vec![gone], "reported exactly once, by one node");
    assert!(one.presence.expired().await.unwrap().is_empty());
    assert!(two.presence.expired().await.unwrap().is_empty());
    assert_eq!(
        two.presence
            .online(&[gone, roaming, staying, left])
            .await
            .unwrap(),
        vec![false, true, true, false]
    );
    assert_eq!(
        one.presence
            .disconnect(roaming, roaming_here)
            .await
            .unwrap(),
        0,
        "the dead node's socket no longer counts"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_who_reconnects_before_the_sweep_is_not_reported() {
    let Some(url) = redis_url() else { return };
    let options = RedisOptions {
        presence_ttl: Duration::from_millis(300),
        ..options()
    };
    let (dying, survivor) = (node(&url, &options).await, node(&url, &options).await);
    let user = UserId::generate();
    dying
        .presence
        .connect(user, ConnId::generate())
        .await
        .unwrap();
    drop(dying);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        survivor
            .presence
            .connect(user, ConnId::generate())
            .await
            .unwrap(),
        1,
        "expired sockets do not count"
    );
    assert!(survivor.presence.expired().await.unwrap().is_empty());
}

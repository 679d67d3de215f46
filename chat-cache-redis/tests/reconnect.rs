//! The bus survives a Redis restart: it notices, reconnects, re-subscribes every watched user
//! (also those watched while Redis was away) and tells the engine with `Inbound::Reconnected`.
//! Needs `CHAT_TEST_REDIS_SERVER_BIN`: the test kills and restarts a server of its own.

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chat_core::bus::{Bus, Inbound, Topic};
use chat_core::event::ServerEvent;
use chat_core::testing::bus::next;
use chat_core::{RoomId, UserId};
use chat_testkit::{Service, eventually};
use support::{node, options};

fn presence_of(user: UserId) -> ServerEvent {
    ServerEvent::Presence {
        user_id: user,
        online: true,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bus_resubscribes_and_reports_reconnected_after_a_redis_restart() {
    let Some(mut server) = Service::redis() else {
        return;
    };
    let options = options();
    let one = node(&server.url(), &options).await;
    let two = node(&server.url(), &options).await;
    let mut inbound = two.bus.take_inbound().unwrap();
    let (early, late) = (UserId::generate(), RoomId::generate());
    two.bus.watch(Topic::User(early)).await.unwrap();
    let before = presence_of(early);
    one.bus
        .publish(&[Topic::User(early)], &before)
        .await
        .unwrap();
    assert_eq!(
        next(&mut inbound).await,
        Inbound::Event {
            topic: Topic::User(early),
            event: before
        }
    );

    server.kill();
    eventually(Duration::from_secs(5), "bus notices Redis is gone", || {
        !two.bus.is_connected()
    })
    .await;
    assert!(
        two.bus.watch(Topic::Room(late)).await.is_err(),
        "a watch cannot be live while Redis is down"
    );

    server.restart();
    assert_eq!(next(&mut inbound).await, Inbound::Reconnected);
    assert!(two.bus.is_connected());

    let after = presence_of(UserId::generate());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut reached = HashSet::new();
    while reached.len() < 2 {
        assert!(Instant::now() < deadline, "delivery did not resume");
        // The publisher's own connection may still be coming back: publish again until the
        // event gets through (duplicates are fine, the engine's hub drops them).
        let _may_fail_while_reconnecting = one
            .bus
            .publish(&[Topic::User(early), Topic::Room(late)], &after)
            .await;
        let wait = Duration::from_millis(300);
        while let Ok(Some(item)) = tokio::time::timeout(wait, inbound.recv()).await {
            match item {
                Inbound::Event { topic, event } if event == after => {
                    reached.insert(topic);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(
        reached,
        HashSet::from([Topic::User(early), Topic::Room(late)])
    );
}

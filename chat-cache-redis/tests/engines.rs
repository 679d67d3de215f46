//! Two engines sharing one store and one Redis behave as one chat service: messages and
//! presence cross nodes, a node that dies takes its users offline for the others, and a
//! Redis outage loses nothing that was acknowledged. Uses `CHAT_TEST_REDIS_URL`, and
//! `CHAT_TEST_REDIS_SERVER_BIN` for the outage.

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_cache_redis::{RedisOptions, RedisSidecars};
use chat_core::event::ServerEvent;
use chat_core::hub::Next;
use chat_core::memory::MemoryStore;
use chat_core::model::User;
use chat_core::store::Store;
use chat_core::{Connection, Engine, EngineConfig, TokenKeys, UserId};
use support::{PrivateRedis, options, shared_url};

async fn engine(store: Arc<dyn Store>, url: &str, options: &RedisOptions) -> Engine {
    let sidecars = RedisSidecars::connect(url, options.clone()).await.unwrap();
    Engine::builder(
        store,
        TokenKeys::from_secret(b"shared secret of the deployment"),
    )
    .bus(Arc::new(sidecars.bus))
    .presence(Arc::new(sidecars.presence))
    .rate_limiter(Arc::new(sidecars.limiter))
    .config(EngineConfig {
        presence_heartbeat: Duration::from_millis(200),
        ..EngineConfig::default()
    })
    .build()
}

async fn users(engine: &Engine) -> (User, User) {
    let tag = UserId::generate();
    let ann = engine
        .register(&format!("ann-{tag}@example.com"), "password1", "Ann")
        .await
        .unwrap()
        .user;
    let bob = engine
        .register(&format!("bob-{tag}@example.com"), "password2", "Bob")
        .await
        .unwrap()
        .user;
    (ann, bob)
}

async fn next_event(socket: &mut Connection) -> ServerEvent {
    match tokio::time::timeout(Duration::from_secs(5), socket.next()).await {
        Ok(Next::Event(delivery)) => delivery.event().clone(),
        Ok(other) => panic!("socket ended: {other:?}"),
        Err(_) => panic!("nothing arrived within 5 s"),
    }
}

async fn next_message(socket: &mut Connection) -> chat_core::model::Message {
    loop {
        if let ServerEvent::Message(message) = next_event(socket).await {
            return message;
        }
    }
}

async fn next_presence_of(socket: &mut Connection, user: UserId) -> bool {
    loop {
        if let ServerEvent::Presence { user_id, online } = next_event(socket).await
            && user_id == user
        {
            return online;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_cross_nodes_once_each_in_order() {
    let Some(url) = shared_url() else { return };
    let options = options();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let one = engine(store.clone(), &url, &options).await;
    let two = engine(store, &url, &options).await;
    let (ann, bob) = users(&one).await;
    let room = one.open_direct(ann.id, bob.id).await.unwrap().room;
    let mut anns_socket = one.connect(ann.clone()).await.unwrap();
    let mut bobs_socket = two.connect(bob.clone()).await.unwrap();

    for i in 1..=50 {
        one.send(&ann, room.id, &format!("hello {i}"), None)
            .await
            .unwrap();
    }
    for seq in 1..=50 {
        assert_eq!(next_message(&mut bobs_socket).await.seq, seq);
        assert_eq!(next_message(&mut anns_socket).await.seq, seq);
    }
    two.send(&bob, room.id, "back to you", None).await.unwrap();
    let reply = next_message(&mut anns_socket).await;
    assert_eq!((reply.seq, reply.text.as_str()), (51, "back to you"));
    assert_eq!(next_message(&mut bobs_socket).await.seq, 51);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_crosses_nodes_and_devices_are_one_presence() {
    let Some(url) = shared_url() else { return };
    let options = options();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let one = engine(store.clone(), &url, &options).await;
    let two = engine(store, &url, &options).await;
    let (ann, bob) = users(&one).await;
    one.open_direct(ann.id, bob.id).await.unwrap();
    let mut bobs_socket = two.connect(bob.clone()).await.unwrap();

    let phone = one.connect(ann.clone()).await.unwrap();
    assert!(next_presence_of(&mut bobs_socket, ann.id).await);
    assert_eq!(two.online(&[ann.id]).await, vec![true]);
    let laptop = two.connect(ann.clone()).await.unwrap();
    drop(phone);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        two.online(&[ann.id]).await,
        vec![true],
        "the laptop is open"
    );
    drop(laptop);
    assert!(!next_presence_of(&mut bobs_socket, ann.id).await);
    assert_eq!(one.online(&[ann.id]).await, vec![false]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_nodes_users_go_offline_for_the_others() {
    let Some(url) = shared_url() else { return };
    let options = RedisOptions {
        presence_ttl: Duration::from_millis(600),
        ..options()
    };
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let two = engine(store.clone(), &url, &options).await;
    let (ann, bob) = users(&two).await;
    two.open_direct(ann.id, bob.id).await.unwrap();
    let mut bobs_socket = two.connect(bob.clone()).await.unwrap();
    let ann_id = ann.id;

    let (ready, connected) = tokio::sync::oneshot::channel();
    let (kill, killed) = tokio::sync::oneshot::channel::<()>();
    let doomed = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let one = engine(store, &url, &options).await;
            let socket = one.connect(ann).await.unwrap();
            ready.send(()).unwrap();
            let _ = killed.await;
            std::mem::forget(socket);
        });
    });
    connected.await.unwrap();
    assert!(next_presence_of(&mut bobs_socket, ann_id).await);

    kill.send(()).unwrap();
    doomed.join().unwrap();
    assert!(!next_presence_of(&mut bobs_socket, ann_id).await);
    assert_eq!(two.online(&[ann_id]).await, vec![false]);
}

/// The seqs of the next `count` messages on `socket`.
async fn seqs(socket: &mut Connection, count: usize) -> Vec<u64> {
    let mut seqs = Vec::with_capacity(count);
    while seqs.len() < count {
        seqs.push(next_message(socket).await.seq);
    }
    seqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_keeps_local_chat_and_loses_nothing_acknowledged() {
    let Some(mut server) = PrivateRedis::start() else {
        return;
    };
    let options = options();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let one = engine(store.clone(), &server.url(), &options).await;
    let two = engine(store, &server.url(), &options).await;
    let (ann, bob) = users(&one).await;
    let room = one.open_direct(ann.id, bob.id).await.unwrap().room;
    let mut anns_socket = one.connect(ann.clone()).await.unwrap();
    let mut bobs_socket = two.connect(bob.clone()).await.unwrap();
    one.send(&ann, room.id, "before", None).await.unwrap();
    assert_eq!(seqs(&mut bobs_socket, 1).await, vec![1]);
    assert_eq!(seqs(&mut anns_socket, 1).await, vec![1]);

    server.kill();
    for (engine, sender, text) in [
        (&one, &ann, "during 1"),
        (&one, &ann, "during 2"),
        (&two, &bob, "during 3"),
        (&one, &ann, "during 4"),
    ] {
        let started = Instant::now();
        engine.send(sender, room.id, text, None).await.unwrap();
        let took = started.elapsed();
        assert!(took < Duration::from_millis(700), "send took {took:?}");
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while two.readiness().await.bus {
        assert!(
            Instant::now() < deadline,
            "readiness still reports the bus up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    server.restart();
    assert_eq!(seqs(&mut anns_socket, 4).await, vec![2, 3, 4, 5]);
    assert_eq!(seqs(&mut bobs_socket, 4).await, vec![2, 3, 4, 5]);
    one.send(&ann, room.id, "after", None).await.unwrap();
    assert_eq!(seqs(&mut bobs_socket, 1).await, vec![6]);
    assert!(two.readiness().await.bus);
}

/// Waits up to 5 s for `engine` to refuse `token`.
async fn until_refused(engine: &Engine, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while engine.authenticate(token).await.is_ok() {
        assert!(Instant::now() < deadline, "token still accepted after 5 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_reach_every_node_and_close_its_sockets() {
    let Some(url) = shared_url() else { return };
    let options = options();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let one = engine(store.clone(), &url, &options).await;
    let two = engine(store, &url, &options).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let email = format!("ann-{}@example.com", UserId::generate());
    let phone = one
        .register(&email, "password1", "Ann")
        .await
        .unwrap()
        .token;
    let laptop = one.login(&email, "password1").await.unwrap().token;
    // Node two checks both tokens, caching the user's revocation state, and holds a socket
    // of the phone's session.
    let (ann, claims) = two.authenticate_claims(&phone).await.unwrap();
    two.authenticate(&laptop).await.unwrap();
    let mut phone_socket = two.connect_session(ann.clone(), claims).await.unwrap();

    one.logout(&phone).await.unwrap();
    until_refused(&two, &phone).await;
    assert!(matches!(
        tokio::time::timeout(Duration::from_secs(5), phone_socket.next()).await,
        Ok(Next::Revoked)
    ));
    assert_eq!(two.authenticate(&laptop).await.unwrap().id, ann.id);

    one.revoke_sessions(ann.id).await.unwrap();
    until_refused(&two, &laptop).await;
    let fresh = two.login(&email, "password1").await.unwrap().token;
    assert_eq!(one.authenticate(&fresh).await.unwrap().id, ann.id);
}

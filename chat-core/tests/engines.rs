//! Several engines ("nodes") sharing one in-process bus and one memory store behave as one
//! chat service: fanout across nodes, ordering on fresh lines, gap filling, resync after a
//! bus reconnect, presence that does not flap, and a shutdown that loses nothing queued.

use std::sync::Arc;
use std::time::Duration;

use chat_core::bus::{Bus, Inbound, Topic};
use chat_core::event::ServerEvent;
use chat_core::hub::Next;
use chat_core::limits::Quota;
use chat_core::memory::{MemoryBus, MemoryBusNetwork, MemoryStore};
use chat_core::model::{Message, NewMessage, User, now};
use chat_core::store::{MessageStore, Store};
use chat_core::testing::fixtures::new_message;
use chat_core::{Connection, Engine, EngineConfig, MessageId, RoomId, TokenKeys, UserId};

/// How long a test waits for an event that must come.
const PATIENCE: Duration = Duration::from_secs(5);

/// The config of every node here: quick gap filling, a short presence window, no quota
/// in the way of bursts.
fn config() -> EngineConfig {
    EngineConfig {
        gap_wait: Duration::from_millis(30),
        quota: Quota {
            per_second: 100_000,
            burst: 100_000,
        },
        presence_window: Duration::from_millis(300),
        ..EngineConfig::default()
    }
}

/// A node on `network` over `store`, with its bus, to cut it off and back.
fn node_with_bus(store: &Arc<MemoryStore>, network: &MemoryBusNetwork) -> (Engine, Arc<MemoryBus>) {
    let bus = Arc::new(network.attach());
    let store: Arc<dyn Store> = store.clone();
    let engine = Engine::builder(store, TokenKeys::from_secret(b"one secret for the cluster"))
        .bus(bus.clone())
        .config(config())
        .build();
    (engine, bus)
}

fn node(store: &Arc<MemoryStore>, network: &MemoryBusNetwork) -> Engine {
    node_with_bus(store, network).0
}

async fn pair(engine: &Engine) -> (User, User, RoomId) {
    let ann = engine
        .register("ann@example.com", "password1", "Ann")
        .await
        .unwrap()
        .user;
    let bob = engine
        .register("bob@example.com", "password2", "Bob")
        .await
        .unwrap()
        .user;
    let room = engine.open_direct(ann.id, bob.id).await.unwrap().room.id;
    (ann, bob, room)
}

async fn next_message(socket: &mut Connection) -> Message {
    loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await {
            Ok(Next::Event(delivery)) => {
                if let ServerEvent::Message(message) = delivery.event() {
                    return message.clone();
                }
            }
            Ok(other) => panic!("socket ended: {other:?}"),
            Err(_) => panic!("no message within {PATIENCE:?}"),
        }
    }
}

async fn seqs(socket: &mut Connection, count: usize) -> Vec<u64> {
    let mut seqs = Vec::with_capacity(count);
    while seqs.len() < count {
        seqs.push(next_message(socket).await.seq);
    }
    seqs
}

/// The race of issue 9: on one thread, node two stores and delivers seq 5 locally before the
/// relay of seq 4 (stored first, on node one) reaches it. Bob's line is fresh, so it must
/// not take 5 as its start and drop 4.
#[tokio::test(flavor = "current_thread")]
async fn a_fresh_line_overtaken_by_a_later_message_still_delivers_both_in_order() {
    let (store, network) = (Arc::new(MemoryStore::new()), MemoryBusNetwork::new());
    let (one, two) = (node(&store, &network), node(&store, &network));
    let (ann, bob, room) = pair(&one).await;
    for text in ["a", "b", "c"] {
        one.send(&ann, room, text, None).await.unwrap();
    }
    let mut bobs_socket = two.connect(bob.clone()).await.unwrap();

    one.send(&ann, room, "stored fourth, relayed late", None)
        .await
        .unwrap();
    two.send(&bob, room, "stored fifth, delivered at once", None)
        .await
        .unwrap();

    assert_eq!(seqs(&mut bobs_socket, 2).await, vec![4, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_socket_on_every_node_sees_each_message_once_in_order() {
    let (store, network) = (Arc::new(MemoryStore::new()), MemoryBusNetwork::new());
    let (one, two, three) = (
        node(&store, &network),
        node(&store, &network),
        node(&store, &network),
    );
    let (ann, bob, room) = pair(&one).await;
    let mut sockets = vec![
        one.connect(ann.clone()).await.unwrap(),
        two.connect(bob.clone()).await.unwrap(),
        three.connect(bob.clone()).await.unwrap(),
        three.connect(ann.clone()).await.unwrap(),
    ];
    let (anns, bobs) = (
        async {
            for i in 0..40 {
                one.send(&ann, room, &format!("ann {i}"), None)
                    .await
                    .unwrap();
            }
        },
        async {
            for i in 0..40 {
                two.send(&bob, room, &format!("bob {i}"), None)
                    .await
                    .unwrap();
            }
        },
    );
    tokio::join!(anns, bobs);

    let expected: Vec<u64> = (1..=80).collect();
    for socket in &mut sockets {
        assert_eq!(seqs(socket, 80).await, expected);
        while let Some(extra) = socket.try_next() {
            assert!(
                !matches!(extra.event(), ServerEvent::Message(_)),
                "a message arrived twice: {extra:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_was_stored_but_never_relayed_is_read_back_from_the_store() {
    let (store, network) = (Arc::new(MemoryStore::new()), MemoryBusNetwork::new());
    let (one, two) = (node(&store, &network), node(&store, &network));
    let (ann, bob, room) = pair(&one).await;
    let mut bobs_socket = two.connect(bob.clone()).await.unwrap();
    one.send(&ann, room, "first", None).await.unwrap();
    assert_eq!(seqs(&mut bobs_socket, 1).await, vec![1]);

    // A node that stored a message and died before fanning it out.
    store
        .append(NewMessage {
            id: MessageId::generate(),
            room_id: room,
            sender_id: ann.id,
            sender_name: ann.name.clone(),
            text: "stored, never published".into(),
            client_id: None,
            timestamp: now(),
            attachments: Vec::new(),
        })
        .await
        .unwrap();
    one.send(&ann, room, "third", None).await.unwrap();

    let (second, third) = (
        next_message(&mut bobs_socket).await,
        next_message(&mut bobs_socket).await,
    );
    assert_eq!(
        [
            (second.seq, second.text.as_str()),
            (third.seq, third.text.as_str())
        ],
        [(2, "stored, never published"), (3, "third")]
    );
}

/// Two gaps in one room, one after the other: the fill of the first, once its gap closed,
/// must leave the second to its own fill, which waits its full time for a message stored
/// late (as on another node whose insert lags its seq), instead of giving it up at once.
#[tokio::test(start_paused = true)]
async fn a_gap_that_opens_after_another_closed_gets_its_own_full_wait() {
    let (store, network) = (Arc::new(MemoryStore::new()), MemoryBusNetwork::new());
    let one = node(&store, &network);
    let other_node = network.attach();
    let (ann, bob, room) = pair(&one).await;
    let mut bobs_socket = one.connect(bob.clone()).await.unwrap();
    one.send(&ann, room, "first", None).await.unwrap();
    assert_eq!(seqs(&mut bobs_socket, 1).await, vec![1]);

    store
        .append(new_message(room, &ann, "second", None))
        .await
        .unwrap();
    one.send(&ann, room, "third", None).await.unwrap();
    let gap_opened = tokio::time::Instant::now();
    assert_eq!(seqs(&mut bobs_socket, 2).await, vec![2, 3]);

    tokio::time::sleep_until(gap_opened + Duration::from_millis(60)).await;
    other_node
        .publish(
            &[Topic::Room(room)],
            &ServerEvent::Message(new_message(room, &ann, "fifth", None).with_seq(5)),
        )
        .await
        .unwrap();
    tokio::time::sleep_until(gap_opened + Duration::from_millis(200)).await;
    store
        .append(new_message(room, &ann, "fourth", None))
        .await
        .unwrap();

    assert_eq!(seqs(&mut bobs_socket, 2).await, vec![4, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_bus_outage_a_node_resyncs_what_it_missed() {
    let (store, network) = (Arc::new(MemoryStore::new()), MemoryBusNetwork::new());
    let one = node(&store, &network);
    let (two, twos_bus) = node_with_bus(&store, &network);
    let (ann, bob, room) = pair(&one).await;
    let mut bobs_socket = two.connect(bob.clone()).await.unwrap();
    one.send(&ann, room, "before", None).await.unwrap();
    assert_eq!(seqs(&mut bobs_socket, 1).await, vec![1]);
    // Node two's one look at the newly followed room (after the connect) reads the store;
    // let it pass, or it would find the messages below without the bus.
    tokio::time::sleep(Duration::from_millis(200)).await;

    twos_bus.disconnect();
    assert!(!two.readiness().await.bus);
    for text in ["missed 1", "missed 2", "missed 3"] {
        one.send(&ann, room, text, None).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        bobs_socket.try_next().is_none(),
        "the outage let a message through"
    );

    twos_bus.reconnect();
    assert_eq!(seqs(&mut bobs_socket, 3).await, vec![2, 3, 4]);
    one.send(&ann, room, "after", None).await.unwrap();
    assert_eq!(seqs(&mut bobs_socket, 1).await, vec![5]);
    assert!(two.readiness().await.bus);
}

#[tokio::test(flavor = "current_thread")]
async fn events_queued_before_shutdown_reach_the_bus() {
    let (store, network) = (Arc::new(MemoryStore::new()), MemoryBusNetwork::new());
    let one = node(&store, &network);
    let (ann, _, room) = pair(&one).await;
    let mut anns_socket = one.connect(ann.clone()).await.unwrap();
    let observer = network.attach();
    observer
        .watch(chat_core::bus::Topic::Room(room))
        .await
        .unwrap();
    let mut relayed = observer.take_inbound().unwrap();

    // On one thread nothing runs the publish task between these sends: all 200 are still
    // queued when the shutdown starts.
    for i in 0..200 {
        one.send(&ann, room, &format!("m{i}"), None).await.unwrap();
    }
    one.shutdown(PATIENCE).await.unwrap();

    let mut seqs = Vec::new();
    while let Ok(inbound) = relayed.try_recv() {
        if let Inbound::Event {
            event: ServerEvent::Message(message),
            ..
        } = inbound
        {
            seqs.push(message.seq);
        }
    }
    assert_eq!(seqs, (1..=200).collect::<Vec<_>>());
    let mut ended = None;
    while let Ok(next) = tokio::time::timeout(PATIENCE, anns_socket.next()).await {
        if !matches!(next, Next::Event(_)) {
            ended = Some(next);
            break;
        }
    }
    assert!(
        matches!(ended, Some(Next::Closed)),
        "shutdown left a socket open: {ended:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn shutdown_waits_for_the_cleanup_of_closed_sockets_and_returns_in_time() {
    let (store, network) = (Arc::new(MemoryStore::new()), MemoryBusNetwork::new());
    let (one, two) = (node(&store, &network), node(&store, &network));
    let (ann, bob, _room) = pair(&one).await;
    let mut bobs_socket = two.connect(bob.clone()).await.unwrap();
    let anns_socket = one.connect(ann.clone()).await.unwrap();
    assert!(presence_of(&mut bobs_socket, ann.id).await);

    drop(anns_socket);
    let started = tokio::time::Instant::now();
    one.shutdown(PATIENCE).await.unwrap();
    assert!(started.elapsed() < PATIENCE);
    assert_eq!(one.online(&[ann.id]).await, vec![false]);
    assert!(!presence_of(&mut bobs_socket, ann.id).await);
}

/// The next presence event about `user` on `socket`.
async fn presence_of(socket: &mut Connection, user: UserId) -> bool {
    loop {
        match tokio::time::timeout(PATIENCE, socket.next()).await {
            Ok(Next::Event(delivery)) => {
                if let ServerEvent::Presence { user_id, online } = delivery.event()
                    && *user_id == user
                {
                    return *online;
                }
            }
            Ok(other) => panic!("socket ended: {other:?}"),
            Err(_) => panic!("no presence event within {PATIENCE:?}"),
        }
    }
}

/// Issue 10, finding 5: a contact who connects and disconnects in a loop reaches the other
/// member with a handful of presence events, not one per flap, and the last one is right.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_user_is_announced_a_few_times_with_the_final_state_last() {
    let (store, network) = (Arc::new(MemoryStore::new()), MemoryBusNetwork::new());
    let (one, two) = (node(&store, &network), node(&store, &network));
    let (ann, bob, _room) = pair(&one).await;
    let mut bobs_socket = two.connect(bob.clone()).await.unwrap();

    for _ in 0..100 {
        let socket = one.connect(ann.clone()).await.unwrap();
        drop(socket);
        while one.online(&[ann.id]).await != [false] {
            tokio::task::yield_now().await;
        }
    }
    let settle = config().presence_window * 4;
    tokio::time::sleep(settle).await;

    let mut told = Vec::new();
    while let Some(delivery) = bobs_socket.try_next() {
        if let ServerEvent::Presence { user_id, online } = delivery.event()
            && *user_id == ann.id
        {
            told.push(*online);
        }
    }
    assert!(
        (1..=6).contains(&told.len()),
        "{} presence events for 100 flaps: {told:?}",
        told.len()
    );
    assert_eq!(told.last(), Some(&false), "{told:?}");
    assert_eq!(two.online(&[ann.id]).await, vec![false]);

    let _socket = one.connect(ann.clone()).await.unwrap();
    assert!(presence_of(&mut bobs_socket, ann.id).await);
}

/// `count` users made straight in the store (no password hashing).
async fn users(store: &Arc<MemoryStore>, count: usize) -> Vec<User> {
    let mut made = Vec::with_capacity(count);
    for i in 0..count {
        made.push(chat_core::testing::fixtures::user(store.as_ref(), &format!("U{i}")).await);
    }
    made
}

/// A 200-member group spread over two nodes, with senders on both: every member's socket gets
/// each entry and message once, in seq order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_member_room_over_two_nodes_reaches_every_socket_once_in_order() {
    let (store, network) = (Arc::new(MemoryStore::new()), MemoryBusNetwork::new());
    let (one, two) = (node(&store, &network), node(&store, &network));
    let members = users(&store, 200).await;
    let mut sockets = Vec::new();
    for (i, member) in members.iter().enumerate() {
        let node = if i % 2 == 0 { &one } else { &two };
        sockets.push(node.connect(member.clone()).await.unwrap());
    }
    let ids: Vec<UserId> = members[1..].iter().map(|member| member.id).collect();
    let room = one
        .create_group(members[0].id, "Two hundred", &ids)
        .await
        .unwrap()
        .room
        .id;
    let (first, second) = (&members[0], &members[1]);
    let (from_one, from_two) = (
        async {
            for i in 0..30 {
                one.send(first, room, &format!("one {i}"), None)
                    .await
                    .unwrap();
            }
        },
        async {
            for i in 0..30 {
                two.send(second, room, &format!("two {i}"), None)
                    .await
                    .unwrap();
            }
        },
    );
    tokio::join!(from_one, from_two);

    let expected: Vec<u64> = (1..=61).collect();
    for (i, socket) in sockets.iter_mut().enumerate() {
        let mut got = Vec::new();
        while got.len() < 61 {
            match tokio::time::timeout(PATIENCE, socket.next()).await {
                Ok(Next::Event(delivery)) => {
                    if let ServerEvent::Message(message) = delivery.event() {
                        got.push(message.seq);
                    }
                }
                other => panic!("socket {i} got {got:?} then {other:?}"),
            }
        }
        assert_eq!(got, expected);
        while let Some(extra) = socket.try_next() {
            assert!(
                !matches!(extra.event(), ServerEvent::Message(_)),
                "an event arrived twice: {extra:?}"
            );
        }
    }
}

/// A message to a big room is one publication on the room's topic, however many members:
/// an observer watching the room and every member's own topic sees it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_to_a_big_room_is_one_publication_on_the_bus() {
    let (store, network) = (Arc::new(MemoryStore::new()), MemoryBusNetwork::new());
    let one = node(&store, &network);
    let members = users(&store, 500).await;
    let ids: Vec<UserId> = members[1..].iter().map(|member| member.id).collect();
    let room = one
        .create_group(members[0].id, "Big", &ids)
        .await
        .unwrap()
        .room
        .id;
    let observer = network.attach();
    let mut relayed = observer.take_inbound().unwrap();
    observer.watch(Topic::Room(room)).await.unwrap();
    for member in &members {
        observer.watch(Topic::User(member.id)).await.unwrap();
    }
    let sent = one
        .send(&members[0], room, "hello all", None)
        .await
        .unwrap();

    let mut copies = 0;
    while let Ok(Some(inbound)) =
        tokio::time::timeout(Duration::from_millis(500), relayed.recv()).await
    {
        if let Inbound::Event {
            topic,
            event: ServerEvent::Message(message),
        } = inbound
            && message.id == sent.id
        {
            assert_eq!(topic, Topic::Room(room));
            copies += 1;
        }
    }
    assert_eq!(copies, 1);
}

/// Membership changes made on one node take effect on the other before the room's next
/// message: an added user's socket there follows the room from the entry adding it, and a
/// removed user there loses delivery and the right to send at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_changes_reach_the_other_node_before_the_next_message() {
    let (store, network) = (Arc::new(MemoryStore::new()), MemoryBusNetwork::new());
    let (one, two) = (node(&store, &network), node(&store, &network));
    let people = users(&store, 3).await;
    let (ann, bob, cat) = (&people[0], &people[1], &people[2]);
    let mut bobs_socket = two.connect(bob.clone()).await.unwrap();
    let room = one
        .create_group(ann.id, "Team", &[cat.id])
        .await
        .unwrap()
        .room
        .id;
    one.send(ann, room, "before bob", None).await.unwrap();
    two.send(cat, room, "cat warms the cache on two", None)
        .await
        .unwrap();

    one.add_members(ann.id, room, &[bob.id]).await.unwrap();
    one.send(ann, room, "welcome bob", None).await.unwrap();
    let added = next_message(&mut bobs_socket).await;
    assert_eq!((added.seq, added.event.is_some()), (4, true));
    assert_eq!(next_message(&mut bobs_socket).await.text, "welcome bob");
    two.send(bob, room, "thanks", None).await.unwrap();
    assert_eq!(next_message(&mut bobs_socket).await.text, "thanks");

    one.remove_member(ann.id, room, bob.id).await.unwrap();
    let removed = next_message(&mut bobs_socket).await;
    assert_eq!((removed.seq, removed.event.is_some()), (7, true));
    let refused = two.send(bob, room, "still here?", None).await;
    assert!(
        matches!(refused, Err(chat_core::Error::Forbidden(_))),
        "{refused:?}"
    );
    one.send(ann, room, "after bob", None).await.unwrap();
    let mut cats_socket = two.connect(cat.clone()).await.unwrap();
    one.send(ann, room, "marker", None).await.unwrap();
    assert_eq!(next_message(&mut cats_socket).await.text, "marker");
    assert!(
        bobs_socket.try_next().is_none(),
        "nothing of the room after the removal"
    );
}

//! Several engines ("nodes") sharing one in-process bus and one memory store behave as one
//! chat service: fanout across nodes, ordering on fresh lines, gap filling, resync after a
//! bus reconnect, presence that does not flap, and a shutdown that loses nothing queued.

use std::sync::Arc;
use std::time::Duration;

use chat_core::event::ServerEvent;
use chat_core::hub::Next;
use chat_core::memory::{MemoryBusNetwork, MemoryStore};
use chat_core::model::{Message, User};
use chat_core::store::Store;
use chat_core::{Connection, Engine, EngineConfig, TokenKeys};

/// How long a test waits for an event that must come.
const PATIENCE: Duration = Duration::from_secs(5);

fn node(store: &Arc<MemoryStore>, network: &MemoryBusNetwork) -> Engine {
    let store: Arc<dyn Store> = store.clone();
    Engine::builder(store, TokenKeys::from_secret(b"one secret for the cluster"))
        .bus(Arc::new(network.attach()))
        .config(EngineConfig {
            gap_wait: Duration::from_millis(30),
            ..EngineConfig::default()
        })
        .build()
}

async fn pair(engine: &Engine) -> (User, User, chat_core::RoomId) {
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

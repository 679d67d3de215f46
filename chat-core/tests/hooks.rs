//! The host's hooks: verdicts on sends, notifications, and the bounds every call runs under.

mod support;
use support::next_message;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chat_core::engine::EngineConfig;
use chat_core::hooks::{Hooks, OutgoingMessage, Rejection, Verdict};
use chat_core::memory::MemoryStore;
use chat_core::model::{Message, Room, User};
use chat_core::{ConnId, Engine, Error, RoomId, ServerSender, TokenKeys, UserId};
use tokio::sync::mpsc;

/// What the test hooks saw, in the order they saw it.
#[derive(Debug, PartialEq)]
enum Seen {
    Disconnected(UserId),
    RoomCreated(RoomId, UserId),
    MembersChanged(RoomId, usize),
}

/// Hooks that act on words in the text: `spam` is rejected, `shout` is upper-cased, `slow`
/// hangs, `busy` takes a while; and an echo bot answers every message not its own.
#[derive(Default)]
struct TestHooks {
    running: AtomicUsize,
    most_at_once: AtomicUsize,
    seen: Mutex<Option<mpsc::UnboundedSender<Seen>>>,
    bot: OnceLock<UserId>,
}

impl TestHooks {
    fn report(&self, seen: Seen) {
        if let Some(report) = &*self.seen.lock().unwrap() {
            let _ = report.send(seen);
        }
    }
}

#[async_trait::async_trait]
impl Hooks for TestHooks {
    async fn on_send(&self, _engine: &Engine, message: &OutgoingMessage<'_>) -> Verdict {
        let running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_at_once.fetch_max(running, Ordering::SeqCst);
        let verdict = if message.text.contains("spam") {
            Verdict::reject("spam", "no spam here")
        } else if message.text.contains("shout") {
            Verdict::Rewrite(message.text.to_uppercase())
        } else {
            if message.text.contains("slow") {
                tokio::time::sleep(Duration::from_secs(30)).await;
            }
            if message.text.contains("busy") {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Verdict::Accept
        };
        self.running.fetch_sub(1, Ordering::SeqCst);
        verdict
    }

    async fn on_sent(&self, engine: &Engine, message: &Message) {
        let Some(&bot) = self.bot.get() else { return };
        if message.sender_id != bot && message.text.starts_with("bot?") {
            let reply = format!("echo: {}", message.text);
            let client_id = format!("echo-{}", message.id);
            engine
                .send_as(
                    ServerSender::User(bot),
                    message.room_id,
                    &reply,
                    Some(&client_id),
                )
                .await
                .unwrap();
        }
    }

    async fn on_connect(
        &self,
        _engine: &Engine,
        user: &User,
        _conn: ConnId,
    ) -> Result<(), Rejection> {
        if user.name == "Mallory" {
            return Err(Rejection::new("banned", "Mallory may not chat"));
        }
        Ok(())
    }

    async fn on_disconnect(&self, _engine: &Engine, user: UserId, _conn: ConnId) {
        self.report(Seen::Disconnected(user));
    }

    async fn on_room_created(&self, _engine: &Engine, room: &Room, creator: UserId) {
        self.report(Seen::RoomCreated(room.id, creator));
    }

    async fn on_members_changed(&self, _engine: &Engine, room: RoomId, entries: &[Message]) {
        self.report(Seen::MembersChanged(room, entries.len()));
    }
}

struct World {
    engine: Engine,
    hooks: Arc<TestHooks>,
    ann: User,
    bob: User,
    room: RoomId,
}

async fn world(config: EngineConfig) -> World {
    let hooks = Arc::new(TestHooks::default());
    let engine = Engine::builder(
        Arc::new(MemoryStore::new()),
        TokenKeys::from_secret(b"hooks"),
    )
    .config(config)
    .hooks(hooks.clone())
    .build();
    let ann = engine.upsert_external_user("ann", "Ann").await.unwrap();
    let bob = engine.upsert_external_user("bob", "Bob").await.unwrap();
    let room = engine.open_direct(ann.id, bob.id).await.unwrap().room.id;
    World {
        engine,
        hooks,
        ann,
        bob,
        room,
    }
}

#[tokio::test]
async fn a_rejection_fails_the_send_with_the_hooks_code_and_stores_nothing() {
    let w = world(EngineConfig::default()).await;
    let refused = w
        .engine
        .send(&w.ann, w.room, "buy spam now", Some("c1"))
        .await;
    match refused {
        Err(Error::Rejected { code, detail }) => {
            assert_eq!((code.as_ref(), detail.as_str()), ("spam", "no spam here"));
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(
        w.engine
            .history(&w.ann, w.room, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        Error::Rejected {
            code: "x".into(),
            detail: String::new()
        }
        .code(),
        "forbidden"
    );
}

#[tokio::test]
async fn a_rewrite_is_what_is_stored_and_delivered() {
    let w = world(EngineConfig::default()).await;
    let mut bobs = w.engine.connect(w.bob.clone()).await.unwrap();
    let sent = w
        .engine
        .send(&w.ann, w.room, "shout hello", None)
        .await
        .unwrap();
    assert_eq!(sent.text, "SHOUT HELLO");
    assert_eq!(next_message(&mut bobs).await.text, "SHOUT HELLO");
    let stored = w.engine.history(&w.bob, w.room, None, 10).await.unwrap();
    assert_eq!(stored[0].text, "SHOUT HELLO");
}

#[tokio::test]
async fn a_slow_hook_fails_its_call_in_time_without_holding_up_others() {
    let config = EngineConfig {
        hook_timeout: Duration::from_millis(300),
        ..EngineConfig::default()
    };
    let w = world(config).await;
    let mut bobs = w.engine.connect(w.bob.clone()).await.unwrap();
    let started = tokio::time::Instant::now();
    let slow = {
        let (engine, ann, room) = (w.engine.clone(), w.ann.clone(), w.room);
        tokio::spawn(async move { engine.send(&ann, room, "slow one", None).await })
    };
    let quick = w
        .engine
        .send(&w.ann, w.room, "quick one", None)
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "the quick send waited"
    );
    assert_eq!(next_message(&mut bobs).await.id, quick.id);
    match slow.await.unwrap() {
        Err(error @ Error::Unavailable { .. }) => assert!(error.to_string().contains("on_send")),
        other => panic!("expected the slow hook to fail the send, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(5));
    let stored = w.engine.history(&w.ann, w.room, None, 10).await.unwrap();
    assert_eq!(stored.len(), 1, "the slow message was not stored");
}

/// Admission comes before a send's work: a send waiting on the host's verdict holds its place,
/// so with one place, a second send is refused at once rather than queued behind the hook.
#[tokio::test]
async fn a_send_waiting_for_its_verdict_holds_its_place_in_admission() {
    let config = EngineConfig {
        max_sends_in_flight: 1,
        ..EngineConfig::default()
    };
    let w = world(config).await;
    let waiting = {
        let (engine, ann, room) = (w.engine.clone(), w.ann.clone(), w.room);
        tokio::spawn(async move { engine.send(&ann, room, "busy", None).await })
    };
    while w.hooks.running.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let refused = w.engine.send(&w.ann, w.room, "meanwhile", None).await;
    assert!(
        matches!(refused, Err(Error::Overloaded { .. })),
        "{refused:?}"
    );
    waiting.await.unwrap().unwrap();
    w.engine.send(&w.ann, w.room, "after", None).await.unwrap();
}

#[tokio::test]
async fn at_most_the_configured_number_of_hooks_run_at_once() {
    let config = EngineConfig {
        hook_concurrency: 2,
        ..EngineConfig::default()
    };
    let w = world(config).await;
    let sends: Vec<_> = (0..8)
        .map(|n| {
            let (engine, ann, room) = (w.engine.clone(), w.ann.clone(), w.room);
            tokio::spawn(async move { engine.send(&ann, room, &format!("busy {n}"), None).await })
        })
        .collect();
    for send in sends {
        send.await.unwrap().unwrap();
    }
    assert_eq!(w.hooks.most_at_once.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn connections_can_be_refused_and_their_ends_are_reported() {
    let w = world(EngineConfig::default()).await;
    let (report, mut seen) = mpsc::unbounded_channel();
    *w.hooks.seen.lock().unwrap() = Some(report);
    let mallory = w
        .engine
        .upsert_external_user("mallory", "Mallory")
        .await
        .unwrap();
    match w.engine.connect(mallory).await {
        Err(Error::Rejected { code, .. }) => assert_eq!(code, "banned"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    let connection = w.engine.connect(w.ann.clone()).await.unwrap();
    drop(connection);
    assert_eq!(seen.recv().await, Some(Seen::Disconnected(w.ann.id)));
}

#[tokio::test]
async fn group_creation_and_member_changes_are_reported_after_they_are_stored() {
    let w = world(EngineConfig::default()).await;
    let (report, mut seen) = mpsc::unbounded_channel();
    *w.hooks.seen.lock().unwrap() = Some(report);
    let group = w
        .engine
        .create_group(w.ann.id, "Team", &[])
        .await
        .unwrap()
        .room
        .id;
    assert_eq!(seen.recv().await, Some(Seen::RoomCreated(group, w.ann.id)));
    w.engine
        .add_members(w.ann.id, group, &[w.bob.id])
        .await
        .unwrap();
    assert_eq!(seen.recv().await, Some(Seen::MembersChanged(group, 1)));
    w.engine
        .remove_member(w.bob.id, group, w.bob.id)
        .await
        .unwrap();
    assert_eq!(seen.recv().await, Some(Seen::MembersChanged(group, 1)));
}

#[tokio::test]
async fn a_bot_answers_from_on_sent_after_the_message_it_answers() {
    let w = world(EngineConfig::default()).await;
    let bot = w
        .engine
        .upsert_external_user("echo-bot", "Echo")
        .await
        .unwrap();
    w.hooks.bot.set(bot.id).unwrap();
    let mut bobs = w.engine.connect(w.bob.clone()).await.unwrap();
    let question = w
        .engine
        .send(&w.ann, w.room, "bot? ping", None)
        .await
        .unwrap();
    let first = next_message(&mut bobs).await;
    let answer = next_message(&mut bobs).await;
    assert_eq!(first.id, question.id);
    assert_eq!(
        (answer.sender_id, answer.text.as_str()),
        (bot.id, "echo: bot? ping")
    );
    assert_eq!(answer.seq, question.seq + 1);
}

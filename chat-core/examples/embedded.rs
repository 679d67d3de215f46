//! Chat without HTTP: an app embeds the engine over in-memory backends, opens a direct room
//! between two users, and receives a message on one user's connection.

use std::sync::Arc;
use std::time::Duration;

use chat_core::event::ServerEvent;
use chat_core::hub::Next;
use chat_core::memory::MemoryStore;
use chat_core::{Engine, TokenKeys};

#[tokio::main]
async fn main() -> chat_core::Result<()> {
    // A per-run secret; a real app loads its secret from configuration.
    let secret: [u8; 32] = rand::random();
    let engine = Engine::builder(
        Arc::new(MemoryStore::new()),
        TokenKeys::from_secret(&secret),
    )
    .build();

    let ann = engine
        .register("ann@example.com", "correct horse", "Ann")
        .await?;
    let bob = engine
        .register("bob@example.com", "battery staple", "Bob")
        .await?;
    let room = engine.open_direct(ann.user.id, bob.user.id).await?.room;

    let mut bob_connection = engine.connect(bob.user.clone()).await?;
    engine
        .send(
            &ann.user,
            room.id,
            "Hi Bob, this is chat without HTTP.",
            Some("c-1"),
        )
        .await?;

    match bob_connection.next().await {
        Next::Event(delivery) => match delivery.event() {
            ServerEvent::Message(message) => {
                println!(
                    "{} → Bob (seq {}): {}",
                    message.sender_name, message.seq, message.text
                );
            }
            other => println!("unexpected event: {other:?}"),
        },
        other => println!("connection ended: {other:?}"),
    }
    engine.shutdown(Duration::from_secs(5)).await
}

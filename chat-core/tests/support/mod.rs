//! What several engine test files share: reading a socket's next message or event.

use std::time::Duration;

use chat_core::Connection;
use chat_core::event::ServerEvent;
use chat_core::hub::Next;
use chat_core::model::Message;

/// How long a test waits for an event before failing.
const PATIENCE: Duration = Duration::from_secs(5);

/// The socket's next message, skipping other events; panics when the socket ends or nothing
/// comes within five seconds.
pub async fn next_message(connection: &mut Connection) -> Message {
    next_event(connection, |event| match event {
        ServerEvent::Message(message) => Some(message.clone()),
        _ => None,
    })
    .await
}

/// What `pick` takes from the socket's next event it takes anything from, skipping the
/// others; panics when the socket ends or nothing comes within five seconds.
pub async fn next_event<T>(
    connection: &mut Connection,
    pick: impl Fn(&ServerEvent) -> Option<T>,
) -> T {
    loop {
        match tokio::time::timeout(PATIENCE, connection.next()).await {
            Ok(Next::Event(delivery)) => {
                if let Some(picked) = pick(delivery.event()) {
                    return picked;
                }
            }
            Ok(other) => panic!("socket ended: {other:?}"),
            Err(_) => panic!("nothing picked within {PATIENCE:?}"),
        }
    }
}

//! What several engine test files share: reading a socket's next message.

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
    loop {
        match tokio::time::timeout(PATIENCE, connection.next()).await {
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

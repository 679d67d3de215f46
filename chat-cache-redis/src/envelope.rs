//! What travels on a topic's channel: the event and the node that published it, encoded once
//! per publish whatever the number of topics.

use chat_core::NodeId;
use chat_core::event::ServerEvent;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
struct Outgoing<'a> {
    origin: NodeId,
    event: &'a ServerEvent,
}

/// A decoded publication.
#[derive(Deserialize)]
pub(crate) struct Incoming {
    /// The publishing node, so it can ignore its own publications.
    pub(crate) origin: NodeId,
    pub(crate) event: ServerEvent,
}

pub(crate) fn encode(origin: NodeId, event: &ServerEvent) -> serde_json::Result<Vec<u8>> {
    serde_json::to_vec(&Outgoing { origin, event })
}

pub(crate) fn decode(payload: &[u8]) -> serde_json::Result<Incoming> {
    serde_json::from_slice(payload)
}

#[cfg(test)]
mod tests {
    use chat_core::UserId;

    use super::*;

    #[test]
    fn round_trips() {
        let origin = NodeId::generate();
        let event = ServerEvent::Presence {
            user_id: UserId::generate(),
            online: true,
        };
        let incoming = decode(&encode(origin, &event).unwrap()).unwrap();
        assert_eq!(incoming.origin, origin);
        assert_eq!(incoming.event, event);
    }
}

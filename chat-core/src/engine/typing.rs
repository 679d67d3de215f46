//! Typing notices: relayed to the room on every node, never stored, at most one per user and
//! room every [`TYPING_INTERVAL`] on each node (extra ones are dropped). The notice goes to the
//! room as a whole, one publication however big it is; transports leave it out of the typist's
//! own sockets.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::error::Result;
use crate::event::ServerEvent;
use crate::id::{RoomId, UserId};
use crate::model::User;

use super::Engine;
use super::reads::Audience;

/// The shortest time between two typing notices of one user in one room.
pub const TYPING_INTERVAL: Duration = Duration::from_secs(2);

/// How many (user, room) pairs the throttle remembers before it forgets the stale ones.
const THROTTLE_PAIRS: usize = 10_000;

/// When each (user, room) last had a notice let through on this node.
#[derive(Default)]
pub(super) struct TypingThrottle {
    last: Mutex<HashMap<(UserId, RoomId), Instant>>,
}

impl TypingThrottle {
    /// Whether a notice of `user` in `room` may go out now; records it if so.
    fn admit(&self, user: UserId, room: RoomId) -> bool {
        let now = Instant::now();
        let mut last = crate::sync::lock(&self.last);
        if last
            .get(&(user, room))
            .is_some_and(|at| now.duration_since(*at) < TYPING_INTERVAL)
        {
            return false;
        }
        if last.len() >= THROTTLE_PAIRS {
            last.retain(|_, at| now.duration_since(*at) < TYPING_INTERVAL);
        }
        last.insert((user, room), now);
        true
    }
}

impl Engine {
    /// Tells `room` that `caller` is typing. Returns false when the notice was dropped by the
    /// throttle; a non-member is refused (`Forbidden`).
    pub async fn typing(&self, caller: &User, room: RoomId) -> Result<bool> {
        if !self.inner.typing.admit(caller.id, room) {
            return Ok(false);
        }
        self.members_for(caller.id, room).await?;
        self.notify(
            room,
            Audience::Room,
            ServerEvent::Typing {
                room_id: room,
                user_id: caller.id,
                name: caller.name.clone(),
            },
        );
        Ok(true)
    }
}

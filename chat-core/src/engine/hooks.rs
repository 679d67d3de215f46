//! Running the host's [`Hooks`]: each call under the hook timeout and the concurrency bound,
//! the deciding ones awaited by their call, the notifications on tasks the relay owns.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::error::{Error, Result};
use crate::hooks::{Hooks, OutgoingMessage, Verdict};
use crate::id::{ConnId, RoomId, UserId};
use crate::model::{Message, Room, User};

use super::Engine;

/// How long a caller refused for want of a free hook slot is told to wait.
const BUSY_RETRY: Duration = Duration::from_secs(1);

/// The host's hooks with their bounds; without hooks every call is skipped at no cost.
pub(super) struct HookRunner {
    hooks: Option<Arc<dyn Hooks>>,
    slots: Semaphore,
    timeout: Duration,
}

impl HookRunner {
    pub(super) fn new(hooks: Option<Arc<dyn Hooks>>, timeout: Duration, slots: usize) -> Self {
        HookRunner {
            hooks,
            slots: Semaphore::new(slots.max(1)),
            timeout,
        }
    }

    /// Runs `call` in a free slot, both within the timeout: `Overloaded` when no slot freed
    /// up in time, `Unavailable` when the hook did not answer in time.
    async fn bounded<T>(&self, what: &'static str, call: impl Future<Output = T>) -> Result<T> {
        let deadline = Instant::now() + self.timeout;
        let Ok(Ok(_slot)) = tokio::time::timeout_at(deadline, self.slots.acquire()).await else {
            return Err(Error::Overloaded {
                what: format!("the {what} hook"),
                retry_after: BUSY_RETRY,
            });
        };
        tokio::time::timeout_at(deadline, call)
            .await
            .map_err(|elapsed| Error::unavailable(format!("the {what} hook (timed out)"), elapsed))
    }
}

impl Engine {
    /// The text to store for `message`: its own, or the hook's rewrite (still to be
    /// validated); a rejection or a failed hook fails the send.
    pub(super) async fn decide_send<'a>(
        &self,
        message: OutgoingMessage<'a>,
    ) -> Result<Cow<'a, str>> {
        let runner = &self.inner.hooks;
        let Some(hooks) = &runner.hooks else {
            return Ok(Cow::Borrowed(message.text));
        };
        match runner
            .bounded("on_send", hooks.on_send(self, &message))
            .await?
        {
            Verdict::Accept => Ok(Cow::Borrowed(message.text)),
            Verdict::Rewrite(text) => Ok(Cow::Owned(text)),
            Verdict::Reject(rejection) => Err(rejection.into()),
        }
    }

    /// Asks the host whether `user` may open socket `conn`.
    pub(super) async fn decide_connect(&self, user: &User, conn: ConnId) -> Result<()> {
        let runner = &self.inner.hooks;
        let Some(hooks) = &runner.hooks else {
            return Ok(());
        };
        runner
            .bounded("on_connect", hooks.on_connect(self, user, conn))
            .await?
            .map_err(Error::from)
    }

    /// Tells the host that socket `conn` of `user` closed; awaited by the cleanup task.
    pub(super) async fn notify_disconnect(&self, user: UserId, conn: ConnId) {
        let runner = &self.inner.hooks;
        if let Some(hooks) = &runner.hooks {
            let call = hooks.on_disconnect(self, user, conn);
            log_failure(runner.bounded("on_disconnect", call).await);
        }
    }

    /// Tells the host, on a task of its own, that `message` was stored and delivered.
    pub(super) fn notify_sent(&self, message: &Message) {
        let Some(hooks) = self.inner.hooks.hooks.clone() else {
            return;
        };
        let (engine, message) = (self.clone(), message.clone());
        self.inner.relay.spawn(async move {
            let call = hooks.on_sent(&engine, &message);
            log_failure(engine.inner.hooks.bounded("on_sent", call).await);
        });
    }

    /// Tells the host, on a task of its own, that `creator` created the group `room`.
    pub(super) fn notify_room_created(&self, room: &Room, creator: UserId) {
        let Some(hooks) = self.inner.hooks.hooks.clone() else {
            return;
        };
        let (engine, room) = (self.clone(), room.clone());
        self.inner.relay.spawn(async move {
            let call = hooks.on_room_created(&engine, &room, creator);
            log_failure(engine.inner.hooks.bounded("on_room_created", call).await);
        });
    }

    /// Tells the host, on a task of its own, that the members of `room` changed by `entries`.
    pub(super) fn notify_members_changed(&self, room: RoomId, entries: &[Message]) {
        let Some(hooks) = self.inner.hooks.hooks.clone() else {
            return;
        };
        if entries.is_empty() {
            return;
        }
        let (engine, entries) = (self.clone(), entries.to_vec());
        self.inner.relay.spawn(async move {
            let call = hooks.on_members_changed(&engine, room, &entries);
            log_failure(engine.inner.hooks.bounded("on_members_changed", call).await);
        });
    }
}

fn log_failure(outcome: Result<()>) {
    if let Err(error) = outcome {
        tracing::warn!(%error, "hook failed");
    }
}
